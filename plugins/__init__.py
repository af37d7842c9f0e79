"""sclc's first-party components. Each module is one plugin, loaded through the ``sclc`` entry points."""
