"""Learned models (tokenizer, transformer, training and evaluation, shipped checkpoints).

Nothing here is imported at server start: models load lazily on first use."""
