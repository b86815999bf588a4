"""What machine a measurement ran on, written beside every figure (benchmarks, evaluations, training)."""

from __future__ import annotations

import os
import platform

import torch


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        # Two VMs both named "AMD EPYC" with 2 cores ran the same training step 1.8 times apart, so
        # the record names what torch's CPU kernels use and whether bf16 (training's autocast) is native.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_native": bool(flags & {"avx512_bf16", "amx_bf16"}),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def describe(m: dict[str, object]) -> str:
    isa = f"{m.get('cpu_capability', '?')}{', native bf16' if m.get('bf16_native') else ''}"
    return (
        f"{m['cpu']} ({isa}), {m['cores']} cores, torch {m['torch']} on {m['torch_threads']} threads, "
        f"GPU: {m['gpu'] or 'none'}"
    )
