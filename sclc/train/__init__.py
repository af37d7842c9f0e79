"""Training on mmengine's Runner: see :func:`sclc.train.runner.build_runner`."""
