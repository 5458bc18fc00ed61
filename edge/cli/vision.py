"""`gate-edge vision ...`: read images or a camera, snapshot a camera, evaluate on a labelled folder, train a
YOLO region detector."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.cli.loading import load_or_exit
from edge.cli.media_logs import route_media_logs
from edge.cli.vision_camera import (
    CameraError,
    find_camera,
    focus,
    live_frame,
    load_image,
    roi_problem,
    save_jpeg,
    with_roi,
)
from edge.cli.vision_reads import READ_EPILOG, read_json
from edge.logs import configure_logging
from vision.config import CameraConfig, VisionConfig
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
    """Add `vision read`, `snapshot`, `eval`, `detector-set` and `train-detector` to the sub-commands."""
    vision = subparsers.add_parser("vision", help="plate and container-number recognition")
    sub = vision.add_subparsers(dest="vision_command", required=True)

    read = sub.add_parser(
        "read",
        help="read plates or container numbers in images, or in a live frame of a configured camera; "
        "print one JSON object per image",
        epilog=READ_EPILOG,
    )
    read.add_argument("images", nargs="*", metavar="IMAGE", help="image files (JPEG, PNG, BMP, WebP)")
    read.add_argument(
        "--camera",
        default=None,
        metavar="NAME",
        help="read one live frame of this camera of the configuration (its rotation and region of "
        "interest applied) instead of image files",
    )
    read.add_argument(
        "--config",
        default=None,
        help="gate configuration: its cameras, grammar and thresholds (embedded defaults if omitted)",
    )
    read.add_argument(
        "--kind",
        choices=[k.value for k in ReadKind],
        default=None,
        help="what to read: plate (default) or container; with --camera, the camera's role decides",
    )
    read.add_argument("--grammar", type=_grammars, default=None, metavar=_GRAMMAR_METAVAR, help=_GRAMMAR_HELP)
    read.add_argument(
        "--crop",
        action="store_true",
        help="each image is a crop of one object: read whole, nothing detected",
    )
    read.set_defaults(func=cmd_read)

    snap = sub.add_parser(
        "snapshot",
        help="save one live frame of a configured camera as JPEG, its region of interest drawn, with a "
        "focus figure: to aim and focus the camera",
    )
    snap.add_argument("camera", metavar="CAMERA", help="camera id, as in vision.cameras")
    snap.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE.jpg",
        help="where to save it (default: snapshot-CAMERA-YYYYMMDD-HHMMSS.jpg here)",
    )
    snap.add_argument("--config", default=None, help="gate configuration (embedded defaults if omitted)")
    snap.set_defaults(func=cmd_snapshot)

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


def _quiet_output(args: argparse.Namespace) -> None:
    """Logs to stderr (stdout is the command's output) and OpenCV's and FFmpeg's own lines routed away."""
    configure_logging(fmt=args.log_format, level=args.log_level, stream=sys.stderr)
    route_media_logs()


def _vision_config(args: argparse.Namespace) -> VisionConfig:
    """The configuration's vision section (defaults without --config), with --grammar over its grammar."""
    vision = load_or_exit(args.config).vision if args.config else VisionConfig()
    if args.grammar:
        grammar = args.grammar[0] if len(args.grammar) == 1 else args.grammar
        vision = VisionConfig.model_validate(vision.model_dump() | {"grammar": grammar})
    return vision


def cmd_read(args: argparse.Namespace) -> int:
    _quiet_output(args)
    if bool(args.images) == bool(args.camera):
        print("vision read: give IMAGE files or --camera NAME (one of the two)", file=sys.stderr)
        return 2
    vision = _vision_config(args)
    roi = None
    if args.camera:
        try:
            camera = find_camera(vision, args.camera)
            frame = live_frame(camera)
        except CameraError as exc:
            print(f"vision read: {exc}", file=sys.stderr)
            return 1
        roi = camera.roi
        kind = ReadKind(args.kind) if args.kind else _camera_kind(camera)
    else:
        kind = ReadKind(args.kind or ReadKind.PLATE.value)
    try:
        from vision.pipeline import build_recognizer

        recognizer = build_recognizer(vision)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    status = 0
    for name in args.images:
        try:
            image = load_image(name)
        except CameraError as exc:
            print(json.dumps({"image": name, "error": str(exc)}))
            status = 1
            continue
        _print_reads({"image": name}, recognizer, image, kind, None, args.crop, vision)
    if args.camera:
        _print_reads({"camera": args.camera}, recognizer, frame, kind, roi, args.crop, vision)
    return status


def _camera_kind(camera: CameraConfig) -> ReadKind:
    return ReadKind.PLATE if camera.role.reads_plates else ReadKind.CONTAINER


def _print_reads(
    head: dict[str, Any],
    recognizer: Any,
    image: Any,
    kind: ReadKind,
    roi: tuple[int, int, int, int] | None,
    crop: bool,
    vision: VisionConfig,
) -> None:
    found = [recognizer.read_crop(image, kind)] if crop else recognizer.read_frame(image, kind, roi)
    reads = [c for c in found if c is not None]
    print(json.dumps(head | {"kind": kind.value, "reads": [read_json(c, reads, vision) for c in reads]}))


def cmd_snapshot(args: argparse.Namespace) -> int:
    _quiet_output(args)
    vision = load_or_exit(args.config).vision
    out = args.out or Path(f"snapshot-{args.camera}-{datetime.now().astimezone():%Y%m%d-%H%M%S}.jpg")
    try:
        camera = find_camera(vision, args.camera)
        frame = live_frame(camera)
        save_jpeg(with_roi(frame, camera.roi), out)
    except CameraError as exc:
        print(f"vision snapshot: {exc}", file=sys.stderr)
        return 1
    height, width = frame.shape[:2]
    turned = f", rotated {camera.rotation} degrees" if camera.rotation else ""
    print(f"camera {camera.id}: {width}x{height} frame{turned} saved to {out}")
    if camera.roi is None:
        print("region of interest: none (the whole frame is searched); set vision.cameras[].roi to narrow it")
    else:
        print("region of interest: {},{},{},{} (drawn in green)".format(*camera.roi))
    problem = roi_problem(frame, camera.roi)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    print(
        f"focus: {focus(frame, camera.roi):.1f} (variance of the Laplacian in the region; higher is sharper: "
        "compare snapshots as you turn the focus ring, under the same light)"
    )
    return 0


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
