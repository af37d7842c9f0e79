"""A model widened by `sclc widen` during training, against its start: estimated bpp and PSNR on
8 centre 256^2 crops of sci/dev at q = 0.1 and 0.9, and the share of y's bits in the channels past
the first 64 (the new ones when the shipped M = 64 model was widened).

    python tools/new_channels_check.py CKPT [CKPT ...]   (codec or training checkpoints)
"""
import sys, pathlib, torch
torch.set_num_threads(1)
from sclc.checkpoint import load_dict, codec_state, model_from_spec_data, load_checkpoint
from sclc.data.folder import list_images
from sclc.imageio import centre_crop, load_rgb, rgb_to_tensor

def load(path):
    data = load_dict(pathlib.Path(path))
    if "meta" in data:
        return model_from_spec_data(data["meta"]["sclc_spec"], codec_state(data["state_dict"]), path).float().eval()
    return load_checkpoint(path).float().eval()

paths = list_images(pathlib.Path("../shared/data/sci/dev"))[::8][:8]
crops = [rgb_to_tensor(centre_crop(load_rgb(p), 256)) for p in paths]
for path in (sys.argv[1:] if __name__ == "__main__" else []):
    m = load(path)
    for q in (0.1, 0.9):
        new_bits = all_bits = mse = 0.0
        for x in crops:
            with torch.no_grad():
                out = m(x, quality_map=torch.full_like(x[:, :1], q))
            bits = -out["likelihoods"]["y"].log2()
            new_bits += float(bits[:, 64:].sum()); all_bits += float(bits.sum()) + float(-out["likelihoods"]["z"].log2().sum())
            mse += float(((out["x_hat"].clamp(0, 1) - x) ** 2).mean())
        psnr = 10 * torch.log10(torch.tensor(len(crops) / mse))
        print(f"{path} q={q}: bpp {all_bits / len(crops) / 256**2:.4f} psnr(mean mse) {psnr:.2f} new channels {100*new_bits/all_bits:.2f} %")
