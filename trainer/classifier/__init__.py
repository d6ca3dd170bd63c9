"""Train, evaluate and export intent and sentiment classifiers (fine-tuning or GAN-BERT).

`interplay train classifier` is the command line; `run.train_classifier` the Python entry.
Modules import torch lazily where they can, so the CLI stays fast to start.
"""
