"""Rate-distortion evaluation on real bitstreams: metrics, classic codecs, BD-rate, plots."""
