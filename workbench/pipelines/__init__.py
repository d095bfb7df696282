"""workbench.pipelines: the end-to-end jobs behind ``notebooks/pipelines/`` (resumable, headless, tested).

- :func:`workbench.pipelines.qm9.run_qm9`: train a molecular model on a QM9 label and evaluate it.
- :func:`workbench.pipelines.shapes.run_shapes`: train ShapeMACE and PointNet on aligned 3D shapes, test them on
  aligned, rotated and rotated + reflected versions of the same test shapes.
"""
