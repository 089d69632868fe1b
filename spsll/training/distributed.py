"""Data-parallel training that gives the numbers of one process (``trainer=ddp``).

Two processes with batch b each must log, and checkpoint, what one process with batch 2b would.
Lightning's DDP averages the gradients, which is the gradient of the 2b-batch mean loss, but three
things differ from one process unless handled:

* **Sampling.** The datamodule shards one seeded permutation of the train split by rank
  (:class:`torch.utils.data.DistributedSampler` for every world size, so one process sees the same
  global batches); validation is replicated on every rank (``use_distributed_sampler: false``).
* **BatchNorm statistics.** Each rank would normalise with its own b samples. Torch's
  ``SyncBatchNorm`` is GPU-only, so :class:`CrossProcessBatchNorm` (any device, any backend:
  gloo on CPU, nccl on GPU) all-reduces the batch sums through an autograd-aware all-reduce.
* **Logged metrics.** ``self.log(...)`` defaults to the rank's own value; :func:`sync_logged_metrics`
  makes ``sync_dist=True`` the default, so an epoch mean is the global sum / global count.

A per-k *maximum* logged from per-rank accumulators (tfc_pinn's ``train/max_mae_k_thz``) is then the
mean of the ranks' maxima, not the global maximum; validation metrics are exact (replicated).
"Equal" means equal up to the order of floating-point sums, with one caveat: where a ReLU's input is
exactly 0 in exact arithmetic (per-feature input standardisation makes the flat parts of m_z exactly 0
and the first BatchNorm's mean 0), the rounding of those sums picks the side of the kink, and Adam
turns that into whole steps; any two summation orders (torch's SyncBatchNorm too) differ there.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.distributed as dist
from pytorch_lightning.plugins.layer_sync import LayerSync
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

RANK_ENV = ("RANK", "LOCAL_RANK", "SLURM_PROCID")  # the order of Lightning's own _get_rank


def process_rank() -> int:
    """This process's global rank, known before ``Trainer.fit`` creates the process group.

    Lightning's subprocess launcher starts ranks > 0 with ``LOCAL_RANK`` (and ``NODE_RANK``) set;
    SLURM sets ``SLURM_PROCID``; torchrun sets ``RANK``. The launching process itself is rank 0.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    for key in RANK_ENV:
        if os.environ.get(key, "").isdigit():
            rank = int(os.environ[key])
            if key == "LOCAL_RANK" and int(os.environ.get("NODE_RANK", "0") or 0) > 0:
                return max(rank, 1)  # a rank on another node is never rank 0
            return rank
    return 0


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the backward pass sums the incoming gradients over ranks as well."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class CrossProcessBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span every rank's batch (the global batch).

    Same parameters, buffers and state-dict keys as the layer it replaces; in eval mode, or with a
    single process, it is exactly that layer. Statistics in two passes (mean, then the centred second
    moment), in float32 for half/bf16 input; the output in the input's dtype.
    """

    original_class: type = nn.BatchNorm1d
    process_group = None

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _syncing(self) -> bool:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return False
        return dist.get_world_size(self.process_group or dist.group.WORLD) > 1

    def forward(self, x):
        if not self._syncing():
            return super().forward(x)
        group = self.process_group or dist.group.WORLD
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # low precision: stats in float32
        count = torch.tensor([xf.numel() // xf.shape[1]], dtype=xf.dtype, device=xf.device)
        sums = _AllReduceSum.apply(torch.cat([xf.sum(dims), count]), group)
        n = sums[-1]
        mean = sums[:-1] / n
        centred = xf - mean.view(shape)
        var = _AllReduceSum.apply(centred.pow(2).sum(dims), group) / n  # biased, as BatchNorm normalises
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.to(xf.dtype).view(shape) + self.bias.to(xf.dtype).view(shape)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach().to(self.running_mean.dtype), alpha=m)
                unbiased = var.detach() * n / (n - 1).clamp(min=1)
                self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)
        return y.to(x.dtype)


def _swap(module: nn.Module, make) -> nn.Module:
    new = make(module)
    for name, child in module.named_children():
        new.add_module(name, _swap(child, make))
    return new


def _factory(bn: nn.Module) -> dict:
    ref = bn.weight if bn.affine else bn.running_mean
    return {"device": ref.device, "dtype": ref.dtype} if ref is not None else {}


def _to_cross(bn: nn.Module) -> nn.Module:
    if not isinstance(bn, _BatchNorm) or isinstance(bn, (CrossProcessBatchNorm, nn.SyncBatchNorm)):
        return bn
    new = CrossProcessBatchNorm(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                                **_factory(bn))
    new.original_class = type(bn)
    new.load_state_dict(bn.state_dict())
    new.train(bn.training)
    return new


def _from_cross(bn: nn.Module) -> nn.Module:
    if not isinstance(bn, CrossProcessBatchNorm):
        return bn
    old = bn.original_class(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats, **_factory(bn))
    old.load_state_dict(bn.state_dict())
    old.train(bn.training)
    return old


class CrossProcessBatchNormSync(LayerSync):
    """Lightning plugin (``Trainer(plugins=[...])``): BatchNorm layers → :class:`CrossProcessBatchNorm`
    for fitting under DDP, and back afterwards. Lightning applies it only with a DDP strategy."""

    def apply(self, model: nn.Module) -> nn.Module:
        return _swap(model, _to_cross)

    def revert(self, model: nn.Module) -> nn.Module:
        return _swap(model, _from_cross)


def sync_logged_metrics(module: nn.Module) -> nn.Module:
    """Make ``sync_dist=True`` the default of ``module.log`` (a model may still pass False)."""
    original = module.log

    @functools.wraps(original)
    def log(*args, **kwargs):
        kwargs.setdefault("sync_dist", True)
        return original(*args, **kwargs)

    module.log = log
    return module


def is_distributed(trainer_cfg) -> bool:
    """Whether a trainer config (``cfg.trainer``) runs more than one process."""
    strategy = str(trainer_cfg.get("strategy") or "auto")
    devices = trainer_cfg.get("devices", 1)
    n_dev = len(devices) if isinstance(devices, (list, tuple)) else (int(devices) if str(devices).isdigit() else 1)
    return strategy.startswith(("ddp", "fsdp", "deepspeed")) or n_dev * int(trainer_cfg.get("num_nodes", 1) or 1) > 1
