"""Runtime: device and edge pipelines on numpy + onnxruntime (never imports torch)."""
