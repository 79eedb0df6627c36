"""The packages' imports run one way (models -> data -> clips; training uses all three; clips imports nothing else of
hf_video, so the video processor's remote-code folder is a copy of clips modules only), read from the source; and the
family's video processor loads folders saved before its rename."""

import ast
from pathlib import Path

import pytest
from transformers import AutoVideoProcessor

import hf_video
from hf_video import TadaResNetVideoProcessor, TadaVideoProcessor

PACKAGE = Path(hf_video.__file__).parent
# package -> the hf_video packages and modules it may import
ALLOWED = {
    "clips": set(),
    "data": {"clips", "atomic_folder", "extras"},
    "models": {"data", "clips", "atomic_folder", "cards"},
    "training": {"models", "data", "clips", "cards", "extras"},
}


def imported_hf_video_parts(path: Path) -> set:
    """The top-level parts of hf_video (`clips`, `data`, ...) that a module imports, relatively or absolutely."""
    package = path.relative_to(PACKAGE).parts[:-1]  # e.g. ("models", "tada_resnet")
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "hf_video":
                target = node.module.split(".")[1:]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [alias.name.split(".")[1:] for alias in node.names if alias.name.split(".")[0] == "hf_video"]
            if not targets:
                continue
            target = targets[0]
        else:
            continue
        if target and target[0] != package[0]:
            parts.add(target[0])
    return parts


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package):
    modules = sorted((PACKAGE / package).rglob("*.py"))
    assert modules
    wrong = {str(path.relative_to(PACKAGE)): sorted(imported_hf_video_parts(path) - ALLOWED[package])
             for path in modules if imported_hf_video_parts(path) - ALLOWED[package]}
    assert wrong == {}, f"{package}/ imports what it may not: {wrong}"


def test_clips_imports_only_its_siblings():
    """What the processor's remote-code folder relies on: every import of ours is a single-dot sibling import."""
    for path in sorted((PACKAGE / "clips").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, (path.name, ast.unparse(node))


def test_a_processor_folder_saved_before_the_rename_still_loads(reference_dir):
    """A folder saved by the code before the family rename (its config names TadaResNetVideoProcessor)."""
    folder = reference_dir / "processor_saved_before_rename"
    processor = AutoVideoProcessor.from_pretrained(folder)
    assert isinstance(processor, TadaVideoProcessor) and type(processor) is TadaResNetVideoProcessor
    settings = processor.clip_settings()
    assert (settings.num_frames, settings.sample_interval, settings.image_size, settings.temporal_crops,
            settings.spatial_crops, settings.mean) == (8, 2, 64, 2, 3, (0.4, 0.45, 0.5))
    assert processor.download_timeout == TadaVideoProcessor.download_timeout  # keys it did not save: the defaults


def test_a_saved_processor_names_the_family_class(tmp_path):
    TadaVideoProcessor(num_frames=4).save_pretrained(tmp_path)
    saved = (tmp_path / "video_preprocessor_config.json").read_text()
    assert '"video_processor_type": "TadaVideoProcessor"' in saved
    assert '"AutoVideoProcessor": "video_processing_tada.TadaVideoProcessor"' in saved
    assert type(AutoVideoProcessor.from_pretrained(tmp_path)) is TadaVideoProcessor


def test_importing_hf_video_registers_the_models_and_nothing_heavier():
    """`import hf_video` loads the models, their processor and the pipeline check; the converters, inflations, model
    cards and dataset code load when used (`hf_video.inflate_clip` still works)."""
    import subprocess
    import sys

    code = ("import sys, hf_video\n"
            "print(sorted(name for name in sys.modules if name.startswith('hf_video')))\n"
            "hf_video.inflate_clip, hf_video.convert_original_checkpoint\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = eval(result.stdout.strip().splitlines()[-1])
    heavy = [name for name in loaded if any(part in name for part in (".convert_", ".inflate_", ".cards", ".data",
                                                                          ".training", "original_"))]
    assert heavy == [] and "hf_video.models.tadaformer.modeling_tadaformer" in loaded, heavy


def test_no_module_imports_one_that_imports_it_back():
    """No import circle between hf_video's modules, counting imports inside functions too (from_clip's used to make
    one: the inflation now takes the model class it builds)."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_symlink():  # a family folder's link to a shared module: its target is read
            continue
        graph[_module_name(path)] = _imported_modules(path)
    names = set(graph)
    graph = {name: {target for target in targets  # a module's own package is not an import of it back
                    if target in names and target != name and not name.startswith(target + ".")}
             for name, targets in graph.items()}
    circles, state = [], {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == [], circles


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set:
    """The hf_video modules `path` imports (a family folder's linked modules under the shared module's name)."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            for candidate in [module] + [module + [alias.name] for alias in node.names]:
                linked = PACKAGE.parent.joinpath(*candidate).with_suffix(".py")
                if linked.is_symlink():
                    candidate = _module_name(linked.resolve()).split(".")
                imported.add(".".join(candidate))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return imported


def test_no_module_is_over_450_lines():
    """One job per module: a module that grows past this does more than one (split it by job, as clips/ is)."""
    lengths = {str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
               for path in sorted(PACKAGE.rglob("*.py")) if not path.is_symlink()}
    assert {name: length for name, length in lengths.items() if length > 450} == {}
