"""Data for training and evaluation: image folders, text masks, the synthetic screen generator."""
