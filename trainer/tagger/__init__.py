"""Train, evaluate and export entity (slot) taggers: token classification, alone or joint with intents.

`interplay train tagger` is the command line; `run.train_tagger` the Python entry. Spans and BIO
tags are converted by `interplay.plugins.entities.spans`, shared with the runtime plugin.
"""
