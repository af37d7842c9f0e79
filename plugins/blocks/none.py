"""No conditioning: the backbone runs without prior injection (the WACNN baseline)."""

import sclc


@sclc.hookimpl
def sclc_register_blocks(register):
    # The builder never instantiates it: choosing 'none' builds the backbone without sites.
    register("none", lambda params, channels, prior_channels: None,
             summary="No prior injection (plain backbone)", reference="paper Table 1 (WACNN)")
