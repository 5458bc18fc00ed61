"""Detection, layout handling, reading and grammar on one frame or one crop: the per-frame pipeline.

The detector runs on a downscaled frame (or the camera's region of interest); the reader runs on crops
cut from the full-resolution frame, all hypotheses of a frame in one batch. Grammar picks what is a
plate or a container number; nothing here knows about cameras, time or the lane.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from vision.candidates import Candidate, Judge, contested, ranked
from vision.config import YOLO_KIND_LABELS, VisionConfig
from vision.detect import TEXT_LABEL, Detector, Region, TextDetector, YoloDetector
from vision.hypotheses import (
    Box,
    Hypothesis,
    add_column_room,
    add_columns,
    add_container_rows,
    add_layouts,
    add_neighbours,
    add_regions,
    add_row_splits,
    add_serial_room,
    overlap,
    plausible,
    restretched,
    slot_crop,
    wider,
)
from vision.identity import ReadKind
from vision.plate_reader import PlateReader, SlotRead
from vision.plates import Grammar
from vision.read import EMPTY, Image, LineRead, ModelError, TextReader
from vision.reader_choice import GrammarReaders, PlateReaderKind, Readers
from vision.reader_vote import combine, place_grammar

# The class a region detector gives each kind's regions (checked in VisionConfig and build_recognizer).
_LABEL_OF = dict(zip((ReadKind.PLATE, ReadKind.CONTAINER), YOLO_KIND_LABELS, strict=True))
# Places of a frame read by the plate-trained reader: PP-OCR's best-ranked plate reads (the labelled
# plate's box ranked first in 205 of the 218 openalpr photos, within the first three in 214); with the
# plate reader alone, the first joins and regions. Each costs a 128 x 64 read (2-10 ms).
_SLOT_PLACES = 3
_SLOT_PLACES_ALONE = 6
PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT
# The plate readers of a call: one tuple for every grammar, or per grammar (VisionConfig.reading).
Reading = Readers | GrammarReaders
# Around a container read's place cut again for its second view, in the box's smaller side.
_AGAIN_MARGIN = 0.1


@dataclass(slots=True)
class Timings:
    """Milliseconds spent per stage on the last frame."""

    detect_ms: float = 0.0
    read_ms: float = 0.0  # both readers
    regions: int = 0
    crops: int = 0  # read by PP-OCR
    slot_crops: int = 0  # read by the plate-trained reader
    detections: int = 0  # detection passes (a finer scale only when the coarser one read nothing valid)
    early_exit: bool = False  # a container frame done before its last round (Recognizer._containers)


class Recognizer:
    """The per-frame pipeline: detector + reader(s) + grammar for plates and ISO 6346 for containers.

    Plates are read by PP-OCR, by the plate-trained reader, or by both, voted (vision/reader_vote.py),
    each place by the readers of the grammar it is read in; `readers` is the default, and each call may
    name its own (a camera's). Containers are read by PP-OCR.
    """

    def __init__(
        self,
        detector: Detector,
        reader: TextReader,
        grammar: Grammar,
        det_sizes: Sequence[int] = (640,),
        max_regions: int = 16,
        min_valid_confidence: float = 0.8,
        plate_reader: PlateReader | None = None,
        readers: Reading = (PPOCR,),
        early_exit: bool = True,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.plate_reader = plate_reader
        self.judge = Judge(grammar, min_valid_confidence)
        self.det_sizes = tuple(det_sizes)
        self.max_regions = max_regions
        # A container frame whose number two crops already read alike, valid, is not read further.
        self.early_exit = early_exit
        self.readers = GrammarReaders.every((PPOCR,))
        self.readers = self._checked(readers)
        self.timings = Timings()

    def read_crop(self, crop: Image, kind: ReadKind, readers: Reading | None = None) -> Candidate | None:
        """Read a crop that holds one plate or one container code (one row, two rows or vertical)."""
        h, w = crop.shape[:2]
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        add_layouts(crop, (0, 0, w, h), kind, crops, hyps)
        if kind is ReadKind.PLATE:
            use = self._checked(readers)
            found = self._plates(crop, self._read(crops, kind, use), hyps, use, {})
            return _best(self._confirm(found, lambda c: [restretched(crop)], use))
        found = self._judge(crops, hyps, kind)
        if not any(c.valid for c in found) and isinstance(self.detector, TextDetector):
            # A container code read as lines gave no valid number: the parts painted apart (the boxed
            # check digit, which a line read drops) are found as regions of their own and joined.
            # Judged together: a valid part-read must still beat a near rival of the line reads.
            found = ranked(contested(found + self._read_at(crop, kind, max(h, w), self.readers)))
        return _best(found)

    def read_frame(
        self, frame: Image, kind: ReadKind, roi: Box | None = None, readers: Reading | None = None
    ) -> list[Candidate]:
        """Every plate or container number found in the frame (or its region of interest), best first.

        `readers`: the plate readers to use (a camera's, per grammar), else the recognizer's.
        """
        use = self._checked(readers)
        x0, y0 = (roi[0], roi[1]) if roi else (0, 0)
        view = frame[roi[1] : roi[1] + roi[3], roi[0] : roi[0] + roi[2]] if roi else frame
        self.timings = Timings()
        found: list[Candidate] = []
        # The same detection scale as for the whole frame: a region of interest costs fewer pixels, not
        # finer ones (a quarter of the frame is detected in about a quarter of the time). A finer scale's
        # reads replace the coarser ones' where they overlap, and only there: a plate read (not valid) at
        # one scale may be missed at the next, which reads other things.
        shrink = max(view.shape[:2]) / max(frame.shape[:2])
        # A YOLO export has one input size: a second pass would detect the same regions again.
        sizes = self.det_sizes if isinstance(self.detector, TextDetector) else self.det_sizes[:1]
        for size in sizes:
            finer = self._read_at(view, kind, max(160, round(size * shrink)), use)
            kept = [c for c in found if not any(overlap(c.box, f.box) > 0.3 for f in finer)]
            found = ranked(finer + kept)
            if any(c.valid for c in found):
                break
        if x0 or y0:
            found = [_shift(c, x0, y0) for c in found]
        return found

    def _read_at(self, view: Image, kind: ReadKind, size: int, readers: GrammarReaders) -> list[Candidate]:
        start = time.perf_counter()
        if isinstance(self.detector, TextDetector):
            regions = self.detector.detect(view, size)
        else:
            regions = self.detector.detect(view)
        self.timings.detect_ms += (time.perf_counter() - start) * 1000
        self.timings.detections += 1
        # A region detector that names its classes (YOLO): only the sought kind's regions are read.
        regions = [r for r in regions if r.label in (TEXT_LABEL, _LABEL_OF[kind])]
        regions = plausible(regions, kind)[: self.max_regions]
        self.timings.regions += len(regions)
        if kind is ReadKind.CONTAINER:
            return self._containers(view, regions)
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        region_crops, line_of = add_regions(view, regions, kind, crops, hyps, rows=False)
        lines = self._read(crops, kind, readers)
        add_neighbours(regions, hyps, kind)
        slot_reads: dict[Box, SlotRead] = {}  # what the plate reader read, by place, in this frame
        found = self._plates(view, lines, hyps, readers, slot_reads)
        found = self._confirm(found, lambda c: wider(view, c.box), readers)
        confirmed = {(c.text, c.box) for c in found if c.valid}
        # Second pass, plates: a region as square as a two-line plate that read as nothing valid is cut
        # into its rows. Most regions of a frame are one line or clutter, so most frames need no row crops;
        # none once a plate of the frame has read valid and been confirmed (one vehicle at the stop line).
        if confirmed:
            return found
        taken = [c.box for c in found if c.valid]
        rows = add_row_splits(regions, region_crops, line_of, lines, taken, len(crops), hyps)
        if not rows:
            return found
        found = self._plates(view, lines + self._read(rows, kind, readers), hyps, readers, slot_reads)
        return self._confirm(found, lambda c: wider(view, c.box), readers, confirmed)

    def _containers(self, view: Image, regions: list[Region]) -> list[Candidate]:
        """The container numbers of a frame's regions, read in rounds, most telling crops first.

        First each region as one line (a vertical one as its stacks) and the columns of character-sized
        regions; then the serials read without their check digit, widened, and the columns cut short,
        lengthened; then the rows of regions whose line read shows some characters (a number over its
        size/type code). After the first two rounds, with `early_exit`, a frame whose best read is a valid
        number that two views read alike is done (`_settled`): 16 of container-marsa's 19 valid frames
        need no rows. The last round judges everything together.
        """
        kind = ReadKind.CONTAINER
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        region_crops, line_of = add_regions(view, regions, kind, crops, hyps, rows=False)
        add_columns(view, regions, crops, hyps)
        lines = self._read(crops, kind)
        if (found := self._settled(view, regions, lines, hyps)) is not None:
            return found
        extended, serials = add_serial_room(view, regions, line_of, lines, len(crops), hyps)
        lengthened, columns = add_column_room(view, regions, lines, len(crops) + len(serials), hyps)
        regions = regions + extended + lengthened
        if more := serials + columns:
            crops.extend(more)
            lines.extend(self._read(more, kind))
            if (found := self._settled(view, regions, lines, hyps)) is not None:
                return found
        boxes = [r.box for r in regions[: len(region_crops)]]
        rows = add_container_rows(region_crops, line_of, lines, len(crops), hyps, boxes)
        if rows:
            crops.extend(rows)
            lines.extend(self._read(rows, kind))
        add_neighbours(regions, hyps, kind)
        return self.judge.score(lines, hyps, kind)

    def _settled(
        self, view: Image, regions: list[Region], lines: list[LineRead], hyps: list[Hypothesis]
    ) -> list[Candidate] | None:
        """The frame's container candidates when its best read is valid and read alike by two views:
        two hypotheses that share no crop, or else its crops cut again (`_again`); None otherwise (or
        without `early_exit`). The hypotheses are joined with their neighbours for the look, not kept."""
        if not self.early_exit:
            return None
        joined = [*hyps]
        add_neighbours(regions, joined, ReadKind.CONTAINER)
        found = self.judge.score(lines, joined, ReadKind.CONTAINER)
        if not found or not found[0].valid:
            return None
        text = found[0].text
        views = [
            h
            for h in joined
            if any(c.valid and c.text == text for c in self.judge.candidates(lines, [h], ReadKind.CONTAINER))
        ]
        if not _apart(views) and not self._again(view, views, hyps, text):
            return None
        self.timings.early_exit = True
        return found

    def _again(self, view: Image, views: list[Hypothesis], hyps: list[Hypothesis], text: str) -> bool:
        """Whether the crops of the first hypothesis that read a number valid, each cut again a little
        wider and stretched sideways (one crop each, joined as before), read the same number valid."""
        if not views:
            return False
        box_of: dict[int, Box] = {}
        for h in hyps:
            if len(h.parts) == 1:
                box_of.setdefault(h.parts[0], h.box)
        first = views[0]
        crops: list[Image] = []
        for i in first.parts:
            again = _cut_again(view, box_of[i]) if i in box_of else None
            if again is None:
                return False
            crops.append(again)
        kind = ReadKind.CONTAINER
        lines = self._read(crops, kind)
        target = self.judge.candidates(lines, [Hypothesis(first.box, list(range(len(crops))))], kind)
        return any(c.valid and c.text == text for c in target)

    def _plates(
        self,
        view: Image,
        lines: list[LineRead],
        hyps: list[Hypothesis],
        readers: GrammarReaders,
        slot_reads: dict[Box, SlotRead],
    ) -> list[Candidate]:
        """The plate candidates of the hypotheses: PP-OCR's reads of them and the plate reader's reads
        of their best places (kept in `slot_reads`, so a second pass reads no place again), voted where
        the grammar a place is read in names both readers."""
        found = self.judge.candidates(lines, hyps, ReadKind.PLATE)
        if CCT in readers.used:
            alone = PPOCR not in readers.used
            places = _slot_places(hyps) if alone else _candidate_places(found, readers)
            todo = [b for b in places if b not in slot_reads]
            for box, read in zip(todo, self._read_slots([slot_crop(view, b) for b in todo]), strict=True):
                slot_reads[box] = read
            reads = {b: slot_reads[b] for b in places if b in slot_reads}
            found = combine(found, reads, self.judge, readers, self._aside(lines, hyps))
        return ranked(contested(found))

    def _confirm(
        self,
        found: list[Candidate],
        variants: Callable[[Candidate], list[Image]],
        readers: GrammarReaders,
        confirmed: set[tuple[str, Box]] | None = None,
    ) -> list[Candidate]:
        """Valid plate reads that a second, differently framed crop of the same place does not read
        alike: not valid.

        One crop can fool a reader in ways another of the same plate does not: a box that cut the
        plate (`SU216` of `6LSU216`: the wider crop shows the rest), a run of one digit merged by CTC
        (`30E9999` of `30E99999`: stretched, the run splits), two letters read swapped. A read is kept
        valid only when the second crop's surest read (by the readers of the read's grammar, voted) is
        the same text (its confidence already passed). A read both readers agreed on needs no second
        crop: the second reader was its second read. `confirmed`: reads (text, box) an earlier
        confirmation of this frame kept valid.
        """
        todo = [c for c in found if c.valid and not c.agreed and (c.text, c.box) not in (confirmed or set())]
        if not todo:
            return found
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        owner: list[int] = []  # for each hypothesis, the index in `todo` it confirms
        wholes: list[tuple[int, Image]] = []  # each variant whole, for the plate reader
        for k, cand in enumerate(todo):
            use = readers.of(cand.grammar)
            for variant in variants(cand):
                if PPOCR in use:
                    before = len(hyps)
                    add_layouts(variant, cand.box, ReadKind.PLATE, crops, hyps)
                    owner.extend([k] * (len(hyps) - before))
                if CCT in use:
                    wholes.append((k, variant))
        lines = self._read(crops, ReadKind.PLATE)
        slots = self._read_slots([v for _, v in wholes])
        agreed: set[int] = set()
        for k in range(len(todo)):
            mine = [h for h, o in zip(hyps, owner, strict=True) if o == k]
            second = self.judge.candidates(lines, mine, ReadKind.PLATE)
            for (o, _), read in zip(wholes, slots, strict=False):
                if o == k:
                    aside = self._aside(lines, mine)
                    second = combine(second, {todo[k].box: read}, self.judge, readers, aside)
            second = contested(second)
            if second and max(second, key=lambda c: c.confidence).text == todo[k].text:
                agreed.add(k)
        refused = {(c.text, c.box) for k, c in enumerate(todo) if k not in agreed}
        return ranked([replace(c, valid=False) if (c.text, c.box) in refused else c for c in found])

    def _aside(self, lines: list[LineRead], hyps: list[Hypothesis]) -> list[Candidate]:
        """PP-OCR's A-Z0-9 reads of the hypotheses as plates, in a lane whose grammar decodes some lines
        constrained (China's): the Judge sets such a read aside for its constrained read, the vote may
        still want it (reader_vote.combine). None in other lanes."""
        if not self.judge.grammar.script:
            return []
        out = []
        for hyp in hyps:
            line = LineRead("", (), ())
            for i in hyp.parts:
                line = line + lines[i]
            if (cand := self.judge.plate(line, hyp.box)) is not None:
                out.append(cand)
        return out

    def _judge(self, crops: list[Image], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        return self.judge.score(self._read(crops, kind), hyps, kind)

    def _read(
        self, crops: list[Image], kind: ReadKind, readers: GrammarReaders | None = None
    ) -> list[LineRead]:
        """PP-OCR's reads of the crops; empty reads for plates when no grammar of `readers` reads with
        PP-OCR."""
        if kind is ReadKind.PLATE and readers is not None and PPOCR not in readers.used:
            return [EMPTY] * len(crops)
        if not crops:
            return []
        start = time.perf_counter()
        lines = self.reader.read(crops, background_pad=kind is ReadKind.CONTAINER)
        self.timings.read_ms += (time.perf_counter() - start) * 1000
        self.timings.crops += len(crops)
        return lines

    def _read_slots(self, crops: list[Image]) -> list[SlotRead]:
        if not crops or self.plate_reader is None:
            return []
        start = time.perf_counter()
        reads = self.plate_reader.read(crops)
        self.timings.read_ms += (time.perf_counter() - start) * 1000
        self.timings.slot_crops += len(crops)
        return reads

    def _checked(self, readers: Reading | None) -> GrammarReaders:
        """The plate readers to use: `readers` (a tuple: for every grammar), else the recognizer's;
        ValueError for none or for a plate reader that was not loaded."""
        if readers is None:
            return self.readers
        plan = readers if isinstance(readers, GrammarReaders) else GrammarReaders.every(readers)
        if not plan.rest or any(not rs for _, rs in plan.by_grammar):
            raise ValueError("no plate reader named")
        if CCT in plan.used and self.plate_reader is None:
            raise ValueError("the plate-trained reader (cct) is named, but the recognizer has none loaded")
        return plan


def _apart(views: list[Hypothesis]) -> bool:
    """Whether two of the hypotheses share no crop: two views of the same number."""
    seen: list[set[int]] = []
    for h in views:
        parts = set(h.parts)
        if any(not parts & other for other in seen):
            return True
        seen.append(parts)
    return False


def _cut_again(view: Image, box: Box) -> Image | None:
    """A region's second crop: cut with `_AGAIN_MARGIN` of its smaller side round it (none for a
    character-sized box: a boxed check digit's frame hides the digit) and stretched sideways; a
    vertical region as its first stack. None when nothing readable comes of it."""
    x, y, w, h = box
    m = 0 if 0.5 < w / max(1, h) < 1.3 else round(_AGAIN_MARGIN * min(w, h))
    crop = np.ascontiguousarray(view[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])
    if min(crop.shape[:2]) < 4:
        return None
    crops: list[Image] = []
    hyps: list[Hypothesis] = []
    add_layouts(restretched(crop), box, ReadKind.CONTAINER, crops, hyps, rows=False)
    return crops[hyps[0].parts[0]] if hyps else None


def _best(candidates: list[Candidate]) -> Candidate | None:
    return candidates[0] if candidates else None


def _candidate_places(found: list[Candidate], readers: GrammarReaders) -> list[Box]:
    """The places of PP-OCR's best-ranked plate reads (three characters or more), best first, but those
    read in the form of a grammar the plate reader does not read (a Chinese plate's)."""
    boxes = list(dict.fromkeys(c.box for c in ranked(contested(found)) if len(c.text) >= 3))
    wanted = [b for b in boxes if CCT in readers.of(place_grammar([c for c in found if c.box == b]))]
    return wanted[:_SLOT_PLACES]


def _slot_places(hyps: list[Hypothesis]) -> list[Box]:
    """With the plate reader alone: joins of neighbouring regions first (a two-row plate's rows, a
    number cut at a bolt), then the regions, most plausible first."""
    joins = [h.box for h in hyps if len(h.parts) > 1]
    return list(dict.fromkeys([*joins, *(h.box for h in hyps)]))[:_SLOT_PLACES_ALONE]


def _shift(c: Candidate, dx: int, dy: int) -> Candidate:
    x, y, w, h = c.box
    return replace(c, box=(x + dx, y + dy, w, h))


def build_recognizer(config: VisionConfig) -> Recognizer:
    """The configured recognizer: models, threads, detection sizes, grammar and thresholds of `config`.

    Sessions are created here, once; ModelError when a model is missing or not ONNX, or when the YOLO
    model's classes do not name both kinds.
    """
    yolo_model, yolo_labels, threads = config.yolo_model, config.yolo_labels, config.threads
    if yolo_model is not None and not set(YOLO_KIND_LABELS) <= set(yolo_labels):
        raise ModelError(
            f"{yolo_model}: its classes {yolo_labels} must include {', '.join(YOLO_KIND_LABELS)}"
        )
    detector: Detector = (
        YoloDetector(yolo_model, yolo_labels, threads)
        if yolo_model is not None
        else TextDetector(config.det_model, threads, config.det_sizes[0])
    )
    plate_grammar = config.plate_grammar
    # The characters beyond A-Z0-9 the lane's plates hold (China's province characters), for its reader.
    reader = TextReader(config.rec_model, threads, config.rec_batch, extra=plate_grammar.script)
    wanted = config.readers_in_use()
    plate_reader = PlateReader(config.plate_reader_file, threads) if CCT in wanted else None
    return Recognizer(
        detector,
        reader,
        plate_grammar,
        config.det_sizes,
        config.max_regions,
        config.min_valid_confidence,
        plate_reader,
        config.reading(),
    )
