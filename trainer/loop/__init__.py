"""The learning loop: train the generator from feedback, gate it, promote it."""
