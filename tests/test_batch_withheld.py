"""What may leave ``fetalview measure --dicom-out`` on its own (issue 20, newcomer 3): a cardiac
echo got an SR with "HC 174 mm" (confidence 0.79), an empty OB region one with 51.9 mm
(0.36). A result the review flag doubts, or of an image that is not an obstetric ultrasound,
is measured and written to the CSV, flagged, but gets no SR or annotated image, written or
sent, until a clinician confirms it in the app; the log and the CSV status say so."""

import numpy as np
import pydicom
import pytest

from dicomfiles import make_dicom
from fetalview.core.batch import Outputs, PixelSizeBook, measure_one
from fetalview.core.io.dicom import not_obstetric
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.segmentation import Segmentation


class FakeSegmenter:
    """A head-shaped contour (cephalic index 80) of the given confidence."""

    model_version = "fake-1"

    def __init__(self, confidence: float):
        self.confidence = confidence

    def segment(self, pixels, pixel_size=None, regions=()):
        h, w = pixels.shape
        e = Ellipse(w / 2, h / 2, w / 4, w / 5, 10.0)
        return Segmentation((e.filled_mask(pixels.shape) > 0).astype(np.uint8) * 255,
                            e.points(64), e, self.confidence, self.model_version, 1.0, pixel_size)


def _dicom(tmp_path, **fields):
    path = make_dicom(tmp_path / "scan.dcm", np.full((270, 400), 90, np.uint8),
                      pixel_spacing=[0.15, 0.15])
    ds = pydicom.dcmread(path)
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path


def _run(tmp_path, scan, confidence, dicom_out=True):
    sent = []
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    outputs = Outputs(dicom=out if dicom_out else None,
                      send_dicom=(lambda name, files: sent.append(files)) if dicom_out else None)
    row = measure_one(FakeSegmenter(confidence), scan, PixelSizeBook(), outputs)
    return row, sorted(p.name for p in out.iterdir()), sent


def test_a_confident_obstetric_result_is_written_and_sent(tmp_path):
    row, written, sent = _run(tmp_path, _dicom(tmp_path), 0.99)
    assert row["status"] == "ok" and row["hc_mm"]
    assert written == ["scan_SC.dcm", "scan_SR.dcm"] and len(sent) == 1


@pytest.mark.parametrize("confidence", [0.79, 0.36])
def test_a_flagged_result_is_measured_but_nothing_leaves(tmp_path, capsys, confidence):
    row, written, sent = _run(tmp_path, _dicom(tmp_path), confidence)
    assert written == [] and sent == []
    assert row["hc_mm"] and float(row["confidence"]) == pytest.approx(confidence)
    assert row["status"].startswith("low_confidence; no DICOM SR or image written or sent: "
                                    f"flagged for review (model confidence {confidence:.2f}")
    assert "confirm it and send it from there" in row["status"]
    assert "scan.dcm: no DICOM SR or image written or sent" in capsys.readouterr().err


@pytest.mark.parametrize("fields, why", [
    ({"Modality": "CT"}, "Modality CT, not US"),
    ({"BodyPartExamined": "HEART"}, "body part 'HEART'"),
    ({"ProtocolName": "Adult Echo 2D"}, "protocol 'Adult Echo 2D'"),
])
def test_an_image_that_is_not_obstetric_is_flagged_and_nothing_leaves(tmp_path, capsys, fields,
                                                                      why):
    scan = _dicom(tmp_path, **fields)
    row, written, sent = _run(tmp_path, scan, 0.99)
    assert written == [] and sent == [] and row["hc_mm"]
    assert row["status"] == ("low_confidence; no DICOM SR or image written or sent: not an "
                             f"obstetric ultrasound image ({why}); open it in fetalview, "
                             "confirm it and send it from there")
    assert "not an obstetric ultrasound image" in capsys.readouterr().err
    row, _, _ = _run(tmp_path, scan, 0.99, dicom_out=False)  # flagged without --dicom-out too
    assert row["status"] == f"low_confidence; not an obstetric ultrasound image ({why})"


def test_obstetric_body_parts_and_protocols_pass():
    ds = pydicom.Dataset()
    ds.Modality = "US"
    assert not_obstetric(ds) is None
    ds.BodyPartExamined, ds.ProtocolName = "ABDOMEN", "OB 2nd trimester biometry"
    assert not_obstetric(ds) is None
    del ds.Modality
    assert not_obstetric(ds) == "not an obstetric ultrasound image (Modality not given, not US)"
