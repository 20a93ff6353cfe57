"""Measure on arrival: fetalview run by Orthanc (its Python plugin) as a department's AI node.

Every ultrasound image a scanner stores into Orthanc is measured by the bundled model and gets
an automatic SR and annotated image in its own study, stored back into Orthanc. Only
``plugin.py`` touches Orthanc's ``orthanc`` module; what to measure, measuring one instance,
the worker that follows Orthanc's change log and the configuration are plain Python here, so
they are tested without an Orthanc (and, end to end, with a real one).
"""
