"""Training data from the conversation store: redacted, versioned, with the conversations it used."""
