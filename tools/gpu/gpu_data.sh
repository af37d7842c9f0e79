# The settings that train a zoo spec on the packed crops (tools/gpu/pack_crops.py) at GPU size:
# sourced by run.sh, and by same_on_cpu.sh to give another model the same training on a CPU.
GPU_DATA=(--set 'train.data=".gpu_data/crops"' --set 'train.val_data=".gpu_data/val"' --set train.crop=256
          --set train.batch_size=16 --set train.workers=4 --set train.cache_mb=2000 --set train.val_images=17
          --set train.val_crop=256 --set train.val_interval=100000 --set train.checkpoint_interval=500
          --set train.max_keep_checkpoints=1 --set train.log_interval=100 --set train.hyper_rate_warmup=0)
