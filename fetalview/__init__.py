"""fetalview: fetal head segmentation and head circumference measurement in ultrasound."""

__version__ = "0.1.0"
