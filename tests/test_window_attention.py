import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

from sclc_plugins.layers.window_attention import WindowAttention, WindowAttentionModule

configs = st.sampled_from([(8, 0), (8, 4), (4, 2), (4, 0)])


@given(st.integers(1, 2), st.integers(1, 21), st.integers(1, 21), configs)
def test_any_size_and_padding_content_does_not_matter(batch, h, w, config):
    window, shift = config
    torch.manual_seed(0)
    attn = WindowAttention(16, num_heads=4, window_size=window, shift_size=shift)
    x = torch.randn(batch, 16, h, w)
    out = attn(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    hp, wp = h + (-h) % window, w + (-w) % window
    zeros = F.pad(x, (0, wp - w, 0, hp - h))
    noise = zeros.clone()
    noise[..., h:, :] = torch.randn_like(noise[..., h:, :]) * 100
    noise[..., :, w:] = torch.randn_like(noise[..., :, w:]) * 100
    torch.testing.assert_close(attn.attend(zeros, h, w)[..., :h, :w], attn.attend(noise, h, w)[..., :h, :w],
                               atol=1e-5, rtol=1e-5)


def _reference(attn: WindowAttention, x: torch.Tensor) -> torch.Tensor:
    """Window-by-window Swin attention (as the WACNN reference), for sizes that are window multiples."""
    b, c, h, w = x.shape
    ws, shift, heads = attn.window_size, attn.shift_size, attn.num_heads
    t = x.permute(0, 2, 3, 1)
    if shift:
        t = torch.roll(t, (-shift, -shift), (1, 2))
    region = torch.zeros(h, w)
    if shift:
        count = 0
        for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                region[hs, wsl] = count
                count += 1
    bias = attn.relative_position_bias_table[attn.relative_position_index.reshape(-1)]
    bias = bias.reshape(ws * ws, ws * ws, heads).permute(2, 0, 1)
    out = torch.zeros_like(t)
    for i in range(0, h, ws):
        for j in range(0, w, ws):
            tokens = t[:, i:i + ws, j:j + ws].reshape(b, ws * ws, c)
            r = region[i:i + ws, j:j + ws].reshape(-1)
            mask = torch.where(r[:, None] == r[None, :], 0.0, float("-inf"))
            q, k, v = attn.qkv(tokens).reshape(b, ws * ws, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-2, -1) * (c // heads) ** -0.5 + bias + mask
            o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, ws * ws, c)
            out[:, i:i + ws, j:j + ws] = attn.proj(o).reshape(b, ws, ws, c)
    if shift:
        out = torch.roll(out, (shift, shift), (1, 2))
    return x + out.permute(0, 3, 1, 2)


@given(st.integers(1, 3), st.integers(1, 3), configs)
def test_matches_window_by_window_reference(nh, nw, config):
    window, shift = config
    torch.manual_seed(nh * 10 + nw)
    attn = WindowAttention(16, num_heads=4, window_size=window, shift_size=shift)
    x = torch.randn(2, 16, nh * window, nw * window)
    torch.testing.assert_close(attn(x), _reference(attn, x), atol=1e-5, rtol=1e-4)


def test_attention_module_shape_on_odd_sizes():
    module = WindowAttentionModule(16, num_heads=8, window_size=8, shift_size=4)
    x = torch.randn(1, 16, 13, 30)
    assert module(x).shape == x.shape
