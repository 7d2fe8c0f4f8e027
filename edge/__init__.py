"""officescore runtime: capture, ONNX Runtime inference, NumPy post-processing, scoring.

This package never imports torch.
"""
