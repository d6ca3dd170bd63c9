"""Text augmentation with a chat model, filtered adversarially (`interplay train augment`).

A proposer (the chat model, prompted with a label's real examples) writes new utterances over a
temperature sweep; a discriminator trained on real vs. the newest generated utterances scores them;
selection keeps those it cannot tell from real that the current classifier assigns to the intended
label; optionally the generator is fine-tuned on what was accepted before the next round.
"""
