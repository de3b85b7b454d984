"""`styleforge data check`: usable images per style, and which files are unusable and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from styleforge.data.datasets import style_folders
from styleforge.data.images import LoadReport, load_many, require_folder


@dataclass
class FolderCheck:
    name: str
    report: LoadReport = field(default_factory=LoadReport)
    smallest: tuple[int, int] | None = None


@dataclass
class CheckReport:
    folders: list[FolderCheck]

    @property
    def usable(self) -> bool:
        return all(f.report.loaded for f in self.folders)

    def render(self) -> str:
        lines = []
        for folder in self.folders:
            small = (
                f", smallest {folder.smallest[0]}x{folder.smallest[1]}" if folder.smallest else ""
            )
            lines.append(f"{folder.name}: {folder.report.summary()}{small}")
            lines += [f"  skipped {failure}" for failure in folder.report.failures]
        counts = [f.report.loaded for f in self.folders if f.report.loaded]
        if len(counts) > 1 and max(counts) > 4 * min(counts):
            lines.append(
                f"warning: styles are imbalanced ({min(counts)} to {max(counts)} images); "
                "balanced sampling (the default) draws them evenly"
            )
        return "\n".join(lines)


def check_folders(roots: list[Path]) -> CheckReport:
    """Open every image of every style folder under the given roots."""
    checks = []
    for root in roots:
        require_folder(root, "data")
        for name, files in style_folders(root).items():
            label = root.name if name == "style" else f"{root.name}/{name}"
            check = FolderCheck(label)
            for _, img, error in load_many(files):
                if error is not None:
                    check.report.failures.append(error)
                    continue
                check.report.loaded += 1
                if check.smallest is None or min(img.size) < min(check.smallest):
                    check.smallest = img.size
            checks.append(check)
    return CheckReport(checks)
