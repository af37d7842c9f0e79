"""No conditioning: the backbone runs without prior injection (the WACNN baseline)."""

import sclc


@sclc.hookimpl
def sclc_register_blocks(register):
    # conditions=False: the backbone is built without sites, so the factory is never called.
    register("none", lambda params, channels, prior_channels: None, conditions=False,
             summary="No prior injection (plain backbone)", reference="paper Table 1 (WACNN)")
