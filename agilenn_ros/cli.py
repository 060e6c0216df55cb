"""The ``agilenn`` command line. Each sub-command imports its implementation lazily, so
runtime commands (evaluate, demo, eval-bag, ...) never import torch."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable
from agilenn_ros.cli_types import count, int_at_least, positive_float

Handler = Callable[[argparse.Namespace], int]


def _with_val_size(profile, val_size: float | None):  # type: ignore[no-untyped-def]
    """The profile with data.val_size replaced by --val-size (when given)."""
    if val_size is None:
        return profile
    import dataclasses
    from agilenn_ros.data.split import check_val_size
    check_val_size(val_size, "--val-size")
    return dataclasses.replace(profile, data=dataclasses.replace(profile.data, val_size=float(val_size)))


def _val_size_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError(f"{text}: a fraction between 0 and 1 or a whole number of images")
    return value


def _minutes_arg(text: str) -> float:
    """--max-minutes: 0 (no cap) or a positive number of minutes."""
    if text.strip() in ("0", "0.0"):
        return 0.0
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError as exc:
        if "must be > 0" in str(exc):
            raise argparse.ArgumentTypeError(f"must be 0 (no cap) or > 0 minutes, got {text}") from None
        raise


def _cmd_train(args: argparse.Namespace) -> int:
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.train_agilenn import train_agilenn
    profile = _with_val_size(load_profile(args.profile), args.val_size)
    if args.epochs or args.exact_importance or args.max_train or args.threads or args.max_minutes is not None:
        import dataclasses
        train = dataclasses.replace(profile.train, epochs=args.epochs or profile.train.epochs,
                                    max_train_samples=args.max_train or profile.train.max_train_samples,
                                    threads=args.threads or profile.train.threads,
                                    max_minutes=profile.train.max_minutes if args.max_minutes is None
                                    else args.max_minutes)
        imp = dataclasses.replace(profile.importance, exact=args.exact_importance or profile.importance.exact)
        profile = dataclasses.replace(profile, train=train, importance=imp)
    if args.teacher:
        import dataclasses
        if profile.distill.weight <= 0:
            print(f"warning: --teacher is not used: profile {profile.name} has distill.weight 0 (no distillation)",
                  file=sys.stderr)
        profile = dataclasses.replace(profile, distill=dataclasses.replace(profile.distill, teacher=args.teacher))
    data = args.data or ("digits" if profile.dataset == "digits" else "")
    if not data:
        print("error: --data is required for this profile", file=sys.stderr)
        return 2
    best = train_agilenn(profile, data, Path(args.out), Path(args.reference) if args.reference else None,
                         restart=args.restart, teacher_required=bool(args.teacher))
    print(f"best checkpoint: {best}")
    return 0


def _cmd_pretrain_reference(args: argparse.Namespace) -> int:
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.pretrain_reference import pretrain_reference
    from agilenn_ros.training.train_agilenn import load_data
    profile = _with_val_size(load_profile(args.profile), args.val_size)
    data = args.data or ("digits" if profile.dataset == "digits" else "")
    if not data:
        print("error: --data is required for this profile", file=sys.stderr)
        return 2
    loaded = load_data(profile, data)
    out = Path(args.out)
    pretrain_reference(profile, loaded.train, loaded.val, out, identity=loaded.identity())
    print(f"reference network: {out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from agilenn_ros.export.exporter import export_bundle
    export_bundle(Path(args.checkpoint), Path(args.out), data=args.data, calibration=args.calibration,
                  skip_metrics=args.skip_metrics, threads=args.threads)
    print(f"model bundle: {args.out}")
    return 0


def _cmd_estimate_training(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    from agilenn_ros.config import load_profile
    from agilenn_ros.training.estimate import estimate_training
    profile = load_profile(args.profile)
    if args.threads or args.max_minutes is not None:
        profile = dataclasses.replace(profile, train=dataclasses.replace(
            profile.train, threads=args.threads or profile.train.threads,
            max_minutes=profile.train.max_minutes if args.max_minutes is None else args.max_minutes))
    import os
    load = os.getloadavg()[0]
    if load >= 0.5:
        print(f"warning: load average {load:.1f} before timing: other work on this machine inflates the times below",
              file=sys.stderr)
    # The figures of the run itself (the split `agilenn train` would make) where --data is given
    # or the profile has built-in data, else CIFAR-10's; an explicit option wins over either.
    figures = {"image_size": 32, "train_images": 45000, "val_images": 5000, "classes": 10}
    origin = "CIFAR-10's figures (--data D for a data set's own)"
    data = args.data or ("digits" if profile.dataset == "digits" else "")
    if data:
        from agilenn_ros.training.train_agilenn import load_data
        loaded = load_data(profile, data, verbose=False)
        figures = {"image_size": int(loaded.train.images.shape[1]), "train_images": len(loaded.train),
                   "val_images": len(loaded.val), "classes": len(loaded.class_names)}
        origin = f"{loaded.source.location}, validation {loaded.val_origin}"
    given = [name for name in ("image_size", "train_images", "val_images") if getattr(args, name) is not None]
    figures.update({name: getattr(args, name) for name in given})
    if given:
        origin += "; " + ", ".join("--" + name.replace("_", "-") for name in given) + " as given"
    print(f"projected on {figures['train_images']} training and {figures['val_images']} validation images, "
          f"{figures['image_size']}x{figures['image_size']} source images, {figures['classes']} classes ({origin})")
    est = estimate_training(profile, steps=args.steps, allow_bf16=not args.no_bf16, **figures)
    print(f"profile {est['profile']}: {est['threads']} threads, {est['cpu_capability']}, "
          f"{'bf16 autocast' if est['bf16'] else 'fp32'}, batch {est['batch_size']}")
    print(f"  step {est['step_seconds']:.3f} s (reference pre-training {est['reference_step_seconds']:.3f} s), "
          f"validation {1000 * est['val_seconds_per_image']:.2f} ms per image")
    print(f"  reference {est['reference_minutes']:.1f} min + {est['epochs']} epochs x {est['epoch_minutes']:.2f} min "
          f"= {est['projected_minutes']:.1f} min")
    if est["distillation"] != "off":
        print(f"  distillation: {est['distillation']}")
    if est["max_minutes"] > 0:
        within = est["projected_minutes_within_budget"] <= est["max_minutes"]
        plan = ("the plan keeps" if est["epochs_within_budget"] >= est["epochs"] else "the plan would be cut to")
        print(f"  max_minutes {est['max_minutes']:g}: {plan} {est['epochs_within_budget']} epochs "
              f"({est['projected_minutes_within_budget']:.1f} min)"
              + ("" if within else "; even one epoch exceeds the cap: train keeps the first epoch and stops"))
    if args.json:
        Path(args.json).write_text(json.dumps(est, indent=2) + "\n")
    return 0


def _cmd_compare_runs(args: argparse.Namespace) -> int:
    from agilenn_ros.training.compare_runs import RunLogError, markdown_table, summarise_run
    rows, problems = [], []
    for run in args.runs:
        try:
            rows.append(summarise_run(Path(run)))
        except RunLogError as exc:
            problems.append(str(exc))
    if not rows:   # nothing to compare: every directory named was refused
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    for problem in problems:   # e.g. the empty OUT of a run that never finished an epoch
        print(f"warning: skipped {problem}", file=sys.stderr)
    print(markdown_table(rows))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from agilenn_ros.runtime.evaluate import evaluate_command
    return evaluate_command(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from agilenn_ros.demo import run_demo
    return run_demo(args)


def _cmd_eval_bag(args: argparse.Namespace) -> int:
    from agilenn_ros.bag.eval_bag import eval_bag_command
    return eval_bag_command(args)


def _cmd_make_bag(args: argparse.Namespace) -> int:
    from agilenn_ros.bag.make_bag import make_bag_command
    return make_bag_command(args)


def _cmd_train_baseline(args: argparse.Namespace) -> int:
    from agilenn_ros.baseline_config import load_baseline_profile
    from agilenn_ros.training.baselines import train_baseline
    profile = _with_val_size(load_baseline_profile(args.profile), args.val_size)
    if args.threads or args.max_minutes is not None:
        import dataclasses
        profile = dataclasses.replace(profile, train=dataclasses.replace(
            profile.train, threads=args.threads or profile.train.threads,
            max_minutes=profile.train.max_minutes if args.max_minutes is None else args.max_minutes))
    data = args.data or ("digits" if profile.dataset == "digits" else "")
    if not data:
        print("error: --data is required for this baseline profile", file=sys.stderr)
        return 2
    best = train_baseline(profile, args.kind, data, Path(args.out), epochs=args.epochs, max_train=args.max_train,
                          restart=args.restart)
    print(f"best checkpoint: {best}")
    return 0


def _cmd_export_baseline(args: argparse.Namespace) -> int:
    from agilenn_ros.export.baseline_export import export_baseline
    out = export_baseline(Path(args.checkpoint), Path(args.out), kind=args.kind, data=args.data,
                          calibration=args.calibration, threads=args.threads, flip_tta=args.flip_tta)
    print(f"baseline bundle: {out}")
    return 0


def _cmd_bench_edge(args: argparse.Namespace) -> int:
    from agilenn_ros.bench.edge_load import bench_edge_command
    return bench_edge_command(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from agilenn_ros.bench.run import bench_command
    return bench_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agilenn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train AgileNN (pre-trains the reference network first if needed)")
    p.add_argument("--profile", default="cifar10", help="profile name in config/ or a YAML path")
    p.add_argument("--data", default="", help="dataset: image folder, .tar(.gz), CIFAR-10 release, or 'digits'")
    p.add_argument("--out", required=True, help="output directory (checkpoints, metrics.jsonl)")
    p.add_argument("--reference", default="", help="pre-trained reference network (default OUT/reference.pt)")
    p.add_argument("--epochs", type=int_at_least(1), default=0, help="override the profile's epochs")
    p.add_argument("--max-train", type=int_at_least(1), default=0, help="use only N training images (quick runs)")
    p.add_argument("--exact-importance", action="store_true", help="second-order IG gradients (paper)")
    p.add_argument("--val-size", type=_val_size_arg, default=None,
                   help="validation carved from train when the data has no val/ folder: a fraction of every "
                        "class (e.g. 0.2) or a total image count (e.g. 500); default: the profile's data.val_size")
    p.add_argument("--restart", action="store_true",
                   help="start over: ignore OUT/last.pt and OUT/best.pt and re-train OUT/reference.pt")
    p.add_argument("--threads", type=count, default=0,
                   help="torch threads (default: the profile's train.threads; 0 there means all cores)")
    p.add_argument("--max-minutes", type=_minutes_arg, default=None,
                   help="wall-time cap of the run (default: the profile's train.max_minutes; 0: none); a slower "
                        "machine trains fewer epochs, the schedule still anneals")
    p.add_argument("--teacher", default="",
                   help="distillation teacher, a train-baseline checkpoint (default: the profile's distill.teacher; "
                        "used when distill.weight > 0)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("pretrain-reference", help="pre-train the reference network used for importance")
    p.add_argument("--profile", default="cifar10")
    p.add_argument("--data", default="")
    p.add_argument("--val-size", type=_val_size_arg, default=None, help="as for train")
    p.add_argument("--out", required=True, help="path of the reference checkpoint to write")
    p.set_defaults(func=_cmd_pretrain_reference)

    p = sub.add_parser("export", help="export a checkpoint to a model bundle")
    p.add_argument("checkpoint", help="best.pt written by agilenn train")
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--data", default="", help="dataset for metrics and codec tables (default: the training data)")
    p.add_argument("--calibration", type=int_at_least(1), default=1000, help="training images for codec tables and int8 calibration")
    p.add_argument("--skip-metrics", action="store_true",
                   help="do not compute metrics.json (on the test split, else on the validation images)")
    p.add_argument("--threads", type=count, default=0,
                   help="threads for tracing, calibration (torch) and metrics (onnxruntime); default 0: all cores")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("estimate-training", help="time a few training steps and project a profile's wall time here")
    p.add_argument("--profile", default="cifar10", help="profile name in config/ or a YAML path")
    p.add_argument("--threads", type=count, default=0, help="as for train")
    p.add_argument("--max-minutes", type=_minutes_arg, default=None, help="as for train")
    p.add_argument("--data", default="",
                   help="dataset (as for train): image size, counts and classes of the split train would make; "
                        "default: a digits profile's built-in data, else CIFAR-10's figures below")
    p.add_argument("--image-size", type=int_at_least(1), default=None,
                   help="source image side (default: from --data or a digits profile's data, else 32, CIFAR-10)")
    p.add_argument("--train-images", type=int_at_least(1), default=None,
                   help="training images (default: from --data or a digits profile's data, else 45000)")
    p.add_argument("--val-images", type=int_at_least(1), default=None,
                   help="validation images (default: from --data or a digits profile's data, else 5000)")
    p.add_argument("--steps", type=int_at_least(1), default=5, help="timed steps (median; default 5)")
    p.add_argument("--no-bf16", action="store_true", help="fp32 even where the CPU has bf16 (as an AVX2-only CPU)")
    p.add_argument("--json", default="", help="write the figures to this JSON file")
    p.set_defaults(func=_cmd_estimate_training)

    p = sub.add_parser("compare-runs", help="one Markdown table row per training run (candidates side by side)")
    p.add_argument("runs", nargs="+", help="run directories (metrics.jsonl; optional bundle/metrics.json, firmware.json)")
    p.set_defaults(func=_cmd_compare_runs)

    p = sub.add_parser("evaluate", help="evaluate a model bundle with onnxruntime (no torch)")
    p.add_argument("--model", required=True, help="bundle directory or name (e.g. cifar10)")
    p.add_argument("--data", required=True, help="dataset (as for train)")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"],
                   help="test (default), val (the val/ folder, else the validation images carved from train as "
                        "training did: held out of training), train (images the model was trained on), or all "
                        "(every image of a folder without split folders, e.g. new images; reported as 'all')")
    p.add_argument("--limit", type=count, default=0, help="evaluate only N images, spread evenly over the split (0: all)")
    p.add_argument("--json", default="", help="write the result as JSON here")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("eval-bag", help="run the pipeline offline over a ROS 2 bag; report accuracy, bytes, times")
    from agilenn_ros.bag.cli_args import add_eval_bag_arguments, add_make_bag_arguments
    add_eval_bag_arguments(p)
    p.set_defaults(func=_cmd_eval_bag)

    p = sub.add_parser("make-bag", help="write a labelled evaluation bag (images + ground truth) from an image set")
    add_make_bag_arguments(p)
    p.set_defaults(func=_cmd_make_bag)

    p = sub.add_parser("train-baseline", help="train a benchmark baseline network (edge, local or split)")
    p.add_argument("--kind", required=True, choices=["edge", "local", "split"])
    p.add_argument("--profile", default="cifar10", help="baseline profile in config/baselines/ or a YAML path")
    p.add_argument("--data", default="", help="dataset (as for train)")
    p.add_argument("--out", required=True, help="output directory (best.pt, last.pt, metrics.jsonl)")
    p.add_argument("--epochs", type=int_at_least(1), default=0, help="override the profile's epochs")
    p.add_argument("--max-train", type=int_at_least(1), default=0, help="use only N training images (quick runs)")
    p.add_argument("--val-size", type=_val_size_arg, default=None, help="as for train")
    p.add_argument("--restart", action="store_true", help="ignore OUT/last.pt and start over")
    p.add_argument("--threads", type=count, default=0,
                   help="torch threads (default: the profile's train.threads; 0 there means all cores)")
    p.add_argument("--max-minutes", type=_minutes_arg, default=None,
                   help="wall-time cap of the run (default: the profile's train.max_minutes; 0: none); a slower "
                        "machine trains fewer epochs, the schedule still anneals")
    p.set_defaults(func=_cmd_train_baseline)

    p = sub.add_parser("export-baseline", help="export a baseline checkpoint to a bundle under models/baselines/")
    p.add_argument("checkpoint", help="best.pt written by agilenn train-baseline")
    p.add_argument("--out", required=True, help="bundle directory (e.g. models/baselines/edge)")
    p.add_argument("--kind", default="", choices=["", "edge", "local", "split"], metavar="{edge,local,split}",
                   help="export as this kind (default: the checkpoint's own); an edge checkpoint can also export "
                        "as split, when the profile's split network has the edge network's architecture")
    p.add_argument("--data", default="", help="dataset for the split codec tables (default: the training data)")
    p.add_argument("--calibration", type=int_at_least(1), default=1000, help="training images for the split codec tables (default 1000)")
    p.add_argument("--threads", type=count, default=0,
                   help="threads for tracing (torch) and the split calibration (onnxruntime); default 0: all cores")
    p.add_argument("--flip-tta", action="store_true",
                   help="edge kind: the exported model averages the logits of the image and its mirror image "
                        "(flip test-time augmentation, twice the edge's work; also set by the profile's "
                        "kinds.edge.flip_tta)")
    p.set_defaults(func=_cmd_export_baseline)

    p = sub.add_parser("bench", help="side-by-side benchmark: AgileNN vs edge-only, local-only, split computing")
    from agilenn_ros.bench.cli_args import add_bench_arguments
    add_bench_arguments(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("bench-edge", help="the edge node under load from a separate load-generator process: "
                                          "frames/s, latency p50/p99, loss accounting")
    from agilenn_ros.bench.edge_load import add_bench_edge_arguments
    add_bench_edge_arguments(p)
    p.set_defaults(func=_cmd_bench_edge)

    p = sub.add_parser("demo", help="device emulator(s) -> DDS -> edge node -> consumer on the sample images")
    from agilenn_ros.demo import add_arguments as demo_arguments
    demo_arguments(p)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"agilenn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
