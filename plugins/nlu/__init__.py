"""Built-in NLU analyzers (`intent`, `sentiment`) served from ONNX model directories.

The shared loading code lives in `interplay.plugins.nlu.model_dir` (manifest, session,
tokenizer) and `interplay.plugins.nlu.classifier` (sequence classification on top of it),
so other ONNX analyzers (token classification, ...) can reuse it. Importing this package
stays light: onnxruntime and tokenizers are imported when a model is loaded.
"""
