"""`gate-edge vision ...`: read images, evaluate on a labelled folder, train a YOLO region detector."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from vision.config import VisionConfig
from vision.identity import ReadKind
from vision.plates import GRAMMARS
from vision.read import ModelError

_GRAMMAR_METAVAR = "NAME[,NAME...]"
_GRAMMAR_HELP = f"plate grammar ({', '.join(GRAMMARS)}), or several, comma-separated, as a lane combines them"


def _grammars(text: str) -> tuple[str, ...]:
    """`--grammar vietnam,china`: the grammars named, each known."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in GRAMMARS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown grammar {unknown[0] if unknown else text!r}; known: {', '.join(GRAMMARS)}"
        )
    return names


def add_vision_parser(subparsers: Any) -> None:
    """Add `vision read`, `vision eval` and `vision train-detector` to the `gate-edge` sub-commands."""
    vision = subparsers.add_parser("vision", help="plate and container-number recognition")
    sub = vision.add_subparsers(dest="vision_command", required=True)

    read = sub.add_parser("read", help="read plates or container numbers in images, print JSON")
    read.add_argument("images", nargs="+", metavar="IMAGE")
    read.add_argument("--kind", choices=[k.value for k in ReadKind], default="plate")
    read.add_argument("--grammar", type=_grammars, default=None, metavar=_GRAMMAR_METAVAR, help=_GRAMMAR_HELP)
    read.add_argument("--crop", action="store_true", help="the images are crops of one object")
    read.set_defaults(func=cmd_read)

    ev = sub.add_parser("eval", help="evaluate on DIR/labels.csv (filename,text[,x,y,w,h])")
    ev.add_argument("--dataset", required=True, type=Path, metavar="DIR")
    ev.add_argument("--kind", choices=[k.value for k in ReadKind], required=True)
    ev.add_argument("--grammar", type=_grammars, default=None, metavar=_GRAMMAR_METAVAR, help=_GRAMMAR_HELP)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--errors", action="store_true", help="list the misreads on stderr")
    ev.add_argument(
        "--reader-only",
        action="store_true",
        help="read the labelled box (x,y,w,h) instead of detecting: the reader alone, on a perfect detection",
    )
    ev.add_argument(
        "--rec-model",
        type=Path,
        default=None,
        metavar="ONNX",
        help="another PP-OCR recognition model (character list in its metadata) to evaluate",
    )
    ev.add_argument(
        "--reader",
        choices=sorted(_READERS),
        default=None,
        help="plate readers: ppocr, cct (the plate-trained reader) or both, voted (default: the "
        "configuration's default, every reader that can read the grammar)",
    )
    ev.add_argument(
        "--expected-from-labels",
        action="store_true",
        help="also verify each image against all the set's label texts as the gate's expected list: "
        "adds verified_exact, and false_accept (matched to another label once its own is removed)",
    )
    ev.add_argument(
        "--verify-slots",
        action="store_true",
        help="with --expected-from-labels: score with the plate-trained reader too, as a mixture with PP-OCR",
    )
    ev.set_defaults(func=cmd_eval)

    ds = sub.add_parser(
        "detector-set",
        help="write a YOLO-format set of rendered scenes (plates, container codes) to train on",
    )
    ds.add_argument("--out", required=True, type=Path, metavar="DIR")
    ds.add_argument("--n", type=int, default=400, help="images (a fifth of them for validation)")
    ds.add_argument("--seed", type=int, default=0)
    ds.set_defaults(func=cmd_detector_set)

    tr = sub.add_parser("train-detector", help="train a YOLO plate/container-code detector, export ONNX")
    tr.add_argument("--data", required=True, type=Path, help="YOLO dataset YAML")
    tr.add_argument(
        "--model",
        default="yolo11n.pt",
        help="ultralytics base model: a .pt to fine-tune (downloaded once by ultralytics) or a .yaml to "
        "train from scratch, offline",
    )
    tr.add_argument("--epochs", type=int, default=50)
    tr.add_argument("--imgsz", type=int, default=640)
    tr.add_argument("--batch", type=int, default=16)
    tr.add_argument("--device", default=None, help="cpu, 0, ... (default: ultralytics picks)")
    tr.add_argument("--runs", type=Path, default=Path("runs"), help="where ultralytics keeps its run")
    tr.add_argument("--out", type=Path, default=Path("models/detector.onnx"))
    tr.set_defaults(func=cmd_train_detector)


# `--reader` choices: the plate readers each names.
_READERS = {"ppocr": ["ppocr"], "cct": ["cct"], "both": ["ppocr", "cct"]}


def _recognizer(
    grammar_name: tuple[str, ...] | None, rec_model: Path | None = None, reader: str | None = None
) -> Any:
    from vision.pipeline import build_recognizer

    settings: dict[str, object] = {}
    if grammar_name:
        settings["grammar"] = grammar_name[0] if len(grammar_name) == 1 else grammar_name
    if rec_model:
        settings["rec_model_file"] = rec_model
    if reader:
        settings["plate_readers"] = _READERS[reader]
    return build_recognizer(VisionConfig.model_validate(settings))


def cmd_read(args: argparse.Namespace) -> int:
    import cv2

    try:
        recognizer = _recognizer(args.grammar)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    kind = ReadKind(args.kind)
    status = 0
    for name in args.images:
        image = cv2.imread(name, cv2.IMREAD_COLOR)
        if image is None:
            print(json.dumps({"image": name, "error": "cannot decode image"}))
            status = 1
            continue
        found = [recognizer.read_crop(image, kind)] if args.crop else recognizer.read_frame(image, kind)
        reads = [
            {"text": c.text, "valid": c.valid, "confidence": round(c.confidence, 4), "box": list(c.box)}
            for c in found
            if c is not None
        ]
        print(json.dumps({"image": name, "kind": kind.value, "reads": reads}))
    return status


def cmd_eval(args: argparse.Namespace) -> int:
    from vision import evaluate

    try:
        recognizer = _recognizer(args.grammar, args.rec_model, args.reader)
        if args.expected_from_labels:
            from vision import verify_eval

            report, verified, outcomes, missed = verify_eval.run_eval(
                recognizer, args.dataset, ReadKind(args.kind), args.reader_only, args.verify_slots
            )
        else:
            report, outcomes = evaluate.run(
                recognizer, args.dataset, ReadKind(args.kind), reader_only=args.reader_only
            )
            verified, missed = {}, []
    except (ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.errors:
        for o in outcomes:
            if o.read != o.sample.text:
                print(
                    f"{o.sample.filename}: {o.sample.text} read {o.read or '-'} "
                    f"valid={o.valid} conf={o.confidence:.2f}",
                    file=sys.stderr,
                )
        for line in missed:
            print(f"verification: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict() | verified))
    else:
        print(f"dataset          {args.dataset}")
        print(f"images           {report.n}")
        print(f"exact match      {report.exact:.2%}")
        print(f"exact, O = 0     {report.exact_o_is_0:.2%}")
        print(f"character acc.   {report.char_acc:.2%}")
        print(f"reported valid   {report.valid_share:.2%}")
        print(f"valid precision  {report.valid_precision:.2%}")
        print(f"latency p50/p95  {report.p50_ms:.0f} / {report.p95_ms:.0f} ms per image")
        for key, value in verified.items():
            print(f"{key.replace('_', ' '):<17}{value}" if key == "expected" else f"{key:<17}{value:.2%}")
    return 0


def cmd_detector_set(args: argparse.Namespace) -> int:
    from vision.detection_set import write_detection_set

    try:
        data = write_detection_set(args.out, args.n, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"detection set written: {data}")
    return 0


def cmd_train_detector(args: argparse.Namespace) -> int:
    try:
        from ultralytics import YOLO  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print(
            "error: training needs the `train` extra (ultralytics, torch): "
            "pip install 'border-gate-edge[train]'",
            file=sys.stderr,
        )
        return 2
    if not args.data.is_file():
        print(f"error: {args.data}: no such dataset YAML", file=sys.stderr)
        return 1
    model = YOLO(args.model)
    # No plots: they need a font that ultralytics downloads, and a gate's training box may be offline.
    model.train(
        data=str(args.data),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        project=str(args.runs.resolve()),
        name="detector",
        exist_ok=True,
        plots=False,
    )
    exported = Path(model.export(format="onnx", imgsz=args.imgsz, dynamic=False, simplify=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(exported, args.out)  # the runs folder may be on another file system (a tmpfs /tmp)
    print(f"detector written to {args.out}")
    return 0
