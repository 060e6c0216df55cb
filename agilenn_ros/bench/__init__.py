"""The side-by-side benchmark (``agilenn bench``): AgileNN against edge-only, local-only and
split computing on the same test images. Runtime only (numpy, onnxruntime); no torch."""
