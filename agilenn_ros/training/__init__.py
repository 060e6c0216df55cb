"""PyTorch training of AgileNN. The only package (with agilenn_ros.export) that imports torch."""
