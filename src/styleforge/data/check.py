"""`styleforge data check`: usable images per style, unusable files and why, image sizes,
tiny images, and exact or near duplicates (within a style and across all folders checked)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.data.datasets import style_folders
from styleforge.data.images import LoadReport, load_many, require_folder

TINY_SIDE = 64  # an image whose shorter side is below this many pixels is reported as tiny
NEAR_DUPLICATE_BITS = 6  # pHash Hamming distance at or below which two images are near copies
HASH_SIDE = 32  # pHash: grayscale downsample side
HASH_LOW = 8  # pHash: the low-frequency HASH_LOW x HASH_LOW DCT block gives the 64 bits

# unnormalised DCT-II basis (rows are frequencies); the scale does not matter for the median test
_DCT = np.cos(
    np.pi * np.outer(np.arange(HASH_SIDE), 2 * np.arange(HASH_SIDE) + 1) / (2 * HASH_SIDE)
)


def phash(img: Image.Image) -> int:
    """64-bit perceptual hash: low DCT frequencies of a 32x32 grayscale copy above their median."""
    small = img.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    low = (_DCT @ pixels @ _DCT.T)[:HASH_LOW, :HASH_LOW]
    bits = (low > np.median(low)).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def pixel_digest(img: Image.Image) -> str:
    """Digest of the decoded RGB pixels and size: equal for exact copies in any file format."""
    digest = hashlib.blake2b(f"{img.width}x{img.height}:".encode(), digest_size=16)
    digest.update(img.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class ImageRef:
    """One loaded image: its style label, its name inside the style folder, and its hashes."""

    label: str
    name: str
    digest: str
    phash: int

    def __str__(self) -> str:
        return f"{self.label}/{self.name}"


@dataclass(frozen=True)
class DuplicatePair:
    """Two images with the same pixels (distance 0, exact) or close perceptual hashes."""

    a: ImageRef
    b: ImageRef
    distance: int
    exact: bool

    @property
    def kind(self) -> str:
        return "duplicate" if self.exact else "near duplicate"

    def describe(self, full_names: bool) -> str:
        a, b = (str(self.a), str(self.b)) if full_names else (self.a.name, self.b.name)
        if self.exact:
            return f"{a} = {b} (same pixels)"
        return f"{a} ~ {b} (pHash distance {self.distance})"


@dataclass
class FolderCheck:
    name: str
    report: LoadReport = field(default_factory=LoadReport)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    tiny: list[tuple[str, tuple[int, int]]] = field(default_factory=list)

    def size_summary(self) -> str:
        """Min / median / max image size (width x height), ordered by pixel count."""
        ordered = sorted(self.sizes, key=lambda s: (s[0] * s[1], s))
        (w0, h0), (w1, h1), (w2, h2) = ordered[0], ordered[(len(ordered) - 1) // 2], ordered[-1]
        return f"min {w0}x{h0}, median {w1}x{h1}, max {w2}x{h2}"


@dataclass
class CheckReport:
    folders: list[FolderCheck]
    duplicates: list[DuplicatePair] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return all(f.report.loaded for f in self.folders)

    def render(self) -> str:
        lines = []
        for folder in self.folders:
            lines.append(f"{folder.name}: {folder.report.summary()}")
            if folder.sizes:
                lines.append(f"  sizes {folder.size_summary()}")
            lines += [f"  skipped {failure}" for failure in folder.report.failures]
            lines += [
                f"  tiny (shorter side < {TINY_SIDE} px): {name} {w}x{h}"
                for name, (w, h) in folder.tiny
            ]
            lines += [
                f"  {pair.kind}: {pair.describe(full_names=False)}"
                for pair in self.duplicates
                if pair.a.label == pair.b.label == folder.name
            ]
        for pair in self.duplicates:
            if pair.a.label != pair.b.label:
                lines.append(
                    f"warning: {pair.kind} in two styles: {pair.describe(full_names=True)}"
                )
        counts = [f.report.loaded for f in self.folders if f.report.loaded]
        if len(counts) > 1 and max(counts) > 4 * min(counts):
            lines.append(
                f"warning: styles are imbalanced ({min(counts)} to {max(counts)} images); "
                "balanced sampling (the default) draws them evenly"
            )
        return "\n".join(lines)


def find_duplicates(refs: list[ImageRef]) -> list[DuplicatePair]:
    """Exact copies (same pixels), then near copies (pHash distance <= NEAR_DUPLICATE_BITS)
    among one representative per set of exact copies."""
    pairs: list[DuplicatePair] = []
    first: dict[str, ImageRef] = {}
    for ref in refs:
        if ref.digest in first:
            pairs.append(DuplicatePair(first[ref.digest], ref, 0, exact=True))
        else:
            first[ref.digest] = ref
    reps = list(first.values())
    hashes = np.array([r.phash for r in reps], dtype=np.uint64)
    for i, ref in enumerate(reps[:-1]):
        diff = (hashes[i + 1 :] ^ hashes[i]).view(np.uint8)
        distances = np.unpackbits(diff).reshape(-1, 64).sum(axis=1)
        for j in np.flatnonzero(distances <= NEAR_DUPLICATE_BITS):
            pairs.append(DuplicatePair(ref, reps[i + 1 + j], int(distances[j]), exact=False))
    return pairs


def check_folders(roots: list[Path]) -> CheckReport:
    """Open every image of every style folder under the given roots and check them together."""
    checks = []
    refs: list[ImageRef] = []
    for root in roots:
        require_folder(root, "data")
        for name, files in style_folders(root).items():
            label = root.name if name == "style" else f"{root.name}/{name}"
            base = root / name if all(p.is_relative_to(root / name) for p in files) else root
            check = FolderCheck(label)
            for path, img, error in load_many(files):
                if error is not None:
                    check.report.failures.append(error)
                    continue
                check.report.loaded += 1
                shown = path.relative_to(base).as_posix()
                check.sizes.append(img.size)
                if min(img.size) < TINY_SIDE:
                    check.tiny.append((shown, img.size))
                refs.append(ImageRef(label, shown, pixel_digest(img), phash(img)))
            checks.append(check)
    return CheckReport(checks, find_duplicates(refs))
