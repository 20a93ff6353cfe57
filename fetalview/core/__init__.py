"""fetalview's core, free of Qt: measure (geometry, biometry, growth) < io (scans in, files
out) < model (the network and its runtimes) < record (the sidecar, review, the result record)
< results (renderers: image, CSV, SR, SC) < pacs < batch. See docs/architecture.md."""
