"""Command-line tools: the op benchmark (and its timing helpers), ONNX export, and the converter
of mmdetection checkpoints. Each is a console script (carafe-bench, carafe-onnx,
carafe-convert-mmdet) and runs as ``python -m carafe.tools.NAME`` too."""
