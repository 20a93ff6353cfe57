"""The model: the Residual UNet's definition and weights with their card, the runtimes that run
it (OpenVINO on the CPU, PyTorch on CUDA), and the steps around it (finding the image area,
letterboxing, the second pass, post-processing into a head ellipse with its confidence)."""
