"""The chat model: load a source checkpoint, export it to ONNX with its KV cache, check parity, quantize."""
