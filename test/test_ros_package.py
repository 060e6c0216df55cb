"""The ROS 2 package's static contract, checked without ROS installed: package.xml against
what the code imports and starts, and the launch files against the nodes' parameters.

What this cannot prove is that the launch files load on a real Jazzy (launch and launch_ros
are not on PyPI): that was run by hand (``ros2 launch ... --show-args`` and the launches, see
README). These checks catch the failure classes found there: a list of ParameterValue
objects as one parameter (TypeError at load), the deprecated LaunchConfigurationEquals,
launch arguments declared but unused or used but undeclared, a parameter override of the
wrong YAML type (a node dies with InvalidParameterTypeException), a parameter no node
declares, and packages that package.xml does not mention.
"""
from __future__ import annotations

import ast
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))

# Python module -> rosdep key. Modules that are not in rosdep are installed with pip (README).
ROSDEP_KEYS = {
    "numpy": "python3-numpy", "cv2": "python3-opencv", "yaml": "python3-yaml", "tqdm": "python3-tqdm",
    "matplotlib": "python3-matplotlib", "rclpy": "rclpy", "rcl_interfaces": "rcl_interfaces",
    "rosidl_runtime_py": "rosidl_runtime_py", "ament_index_python": "ament_index_python",
    "launch": "launch", "launch_ros": "launch_ros",
}
PIP_ONLY = {"onnxruntime", "rosbags", "cyclonedds", "backports", "ruamel"}  # backports.zstd, ruamel.yaml: rosbags deps
TRAINING_ONLY = {"torch", "sklearn", "onnx", "onnxscript"}  # `pip install agilenn_ros[train]`, not the ROS package
# exec_depends that no Python import names: the generated messages' runtime.
NOT_IMPORTED = {"rosidl_default_runtime"}


def _package_xml() -> dict[str, set[str]]:
    root = ET.parse(ROOT / "package.xml").getroot()
    deps: dict[str, set[str]] = {}
    for tag in ("buildtool_depend", "depend", "build_depend", "exec_depend", "test_depend"):
        deps[tag] = {e.text.strip() for e in root.findall(tag) if e.text}
    deps["run"] = deps["depend"] | deps["exec_depend"]
    return deps


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    newer_stdlib = {"compression"}  # Python >= 3.14 (compression.zstd), imported conditionally
    return {n for n in names if n not in sys.stdlib_module_names and n not in newer_stdlib and n != "agilenn_ros"}


def _runtime_sources() -> list[Path]:
    """Everything a ROS install runs: all of agilenn_ros except training and export (torch)."""
    return [p for p in (ROOT / "agilenn_ros").rglob("*.py")
            if not {"training", "export"} & set(p.relative_to(ROOT / "agilenn_ros").parts[:-1])]


def _calls(tree: ast.AST, name: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if called == name:
                yield node


def _kw(call: ast.Call, key: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == key), None)


def _const(node: ast.expr | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _launch_nodes(tree: ast.Module) -> Iterator[tuple[str, str, ast.Call]]:
    """(package, executable, call) of every launch_ros Node; module-level string constants
    (AGENT_PACKAGE = "...") are resolved."""
    names = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
             and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
             for t in n.targets if isinstance(t, ast.Name)}

    def value(node: ast.expr | None) -> Any:
        return names.get(node.id) if isinstance(node, ast.Name) else _const(node)

    for call in _calls(tree, "Node"):
        package, executable = value(_kw(call, "package")), value(_kw(call, "executable"))
        if package is not None:
            yield package, executable, call


def _node_parameters() -> dict[str, dict[str, Any]]:
    """Executable -> {parameter: default} from the node modules."""
    from agilenn_ros.nodes import consumer, device_node, edge_node

    return {"agilenn_edge": {k: v[0] for k, v in edge_node.PARAMETERS.items()},
            "agilenn_device": {k: v[0] for k, v in device_node.PARAMETERS.items()},
            "agilenn_consumer": {k: v[0] for k, v in consumer.PARAMETERS.items()}}


# --------------------------------------------------------------------------- package.xml


def test_package_xml_declares_what_the_code_imports() -> None:
    deps = _package_xml()
    used: dict[str, str] = {}
    for path in _runtime_sources() + LAUNCH_FILES:
        for module in _imports(path):
            assert module in ROSDEP_KEYS or module in PIP_ONLY or module in TRAINING_ONLY, \
                f"{path.relative_to(ROOT)} imports {module}: map it to a rosdep key in this test and package.xml"
            if module in ROSDEP_KEYS:
                used.setdefault(ROSDEP_KEYS[module], str(path.relative_to(ROOT)))
    missing = {key: where for key, where in used.items() if key not in deps["run"]}
    assert not missing, f"package.xml lacks exec_depends for imports: {missing}"


def _message_packages(path: Path) -> set[str]:
    """Packages of the ROS message types a module names ("pkg/msg/Type"). The DDS transport
    (transport/dds.py, msgtypes.py) carries its own type definitions and needs no ROS package."""
    if path.parent.name == "transport" and path.name != "rclpy_backend.py":
        return set()
    return set(re.findall(r"[\"']([a-z_]+)/msg/[A-Z]\w*[\"']", path.read_text())) - {"pkg"}


def test_package_xml_declares_message_and_launched_packages() -> None:
    deps = _package_xml()
    type_names = set()
    for path in _runtime_sources():
        type_names |= _message_packages(path)
    type_names.discard("agilenn_ros")
    assert {"sensor_msgs", "vision_msgs", "diagnostic_msgs"} <= type_names
    assert type_names <= deps["run"], f"message packages not in package.xml: {type_names - deps['run']}"
    launched = {pkg for path in LAUNCH_FILES for pkg, _, _ in _launch_nodes(ast.parse(path.read_text()))}
    launched.discard("agilenn_ros")
    assert {"usb_cam", "v4l2_camera", "micro_ros_agent"} <= launched
    assert launched <= deps["exec_depend"], f"launched packages not in package.xml: {launched - deps['exec_depend']}"


def test_package_xml_declares_nothing_unused() -> None:
    deps = _package_xml()
    used = set(NOT_IMPORTED)
    for path in _runtime_sources() + LAUNCH_FILES:
        text = path.read_text()
        used |= {ROSDEP_KEYS[m] for m in _imports(path) if m in ROSDEP_KEYS}
        used |= _message_packages(path)
        used |= {pkg for pkg, _, _ in _launch_nodes(ast.parse(text))} if path.suffix == ".py" else set()
    unused = deps["exec_depend"] - used
    assert not unused, f"package.xml exec_depends nothing uses: {sorted(unused)}"
    # test_depends: pytest runs the suite (ament_cmake_pytest in CMakeLists.txt); nothing else
    test_text = "\n".join(p.read_text() for p in (ROOT / "test").glob("*.py"))
    for key in deps["test_depend"]:
        module = {"python3-pytest": "pytest", "ament_cmake_pytest": None}.get(key, key)
        if module is None:
            assert key in (ROOT / "CMakeLists.txt").read_text()
        else:
            assert re.search(rf"\bimport {module}\b|\bfrom {module}\b", test_text), f"test_depend {key} is unused"


# --------------------------------------------------------------------------- launch files


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_uses_current_api(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "LaunchConfigurationEquals" not in names and "LaunchConfigurationNotEquals" not in names, \
        "deprecated on Jazzy: use IfCondition(EqualsSubstitution(...))"
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            inner = [e for e in node.elts if isinstance(e, ast.Call)
                     and getattr(e.func, "id", getattr(e.func, "attr", "")) == "ParameterValue"]
            assert not inner, (f"{path.name}:{node.lineno}: a list of ParameterValue objects is refused by "
                               "launch_ros (TypeError 'subvalue'); use one ParameterValue([...], value_type=List[T])")
    assert "generate_launch_description" in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_arguments_declared_and_used(path: Path) -> None:
    tree = ast.parse(path.read_text())
    declared = {_const(c.args[0]) for c in _calls(tree, "DeclareLaunchArgument") if c.args} - {None}
    for assign in tree.body:  # eval_bag.launch.py declares from a table
        if isinstance(assign, ast.AnnAssign) and getattr(assign.target, "id", "") == "ARGUMENTS":
            declared |= {row[0] for row in ast.literal_eval(assign.value)}
    used = {_const(c.args[0]) for c in _calls(tree, "LaunchConfiguration") if c.args} - {None}
    if path.name == "eval_bag.launch.py":  # reads every declared argument in _pipeline
        assert "for name, *_ in ARGUMENTS" in path.read_text()
        used |= declared
    assert declared, path.name
    assert used <= declared, f"{path.name}: LaunchConfiguration of undeclared arguments {used - declared}"
    assert declared <= used, f"{path.name}: declared but unused arguments {declared - used}"
    assert "namespace" in declared


def _typed_value(value: ast.expr, assigned: dict[str, ast.expr]) -> tuple[str, Any]:
    """('const', python value) | ('typed', value_type name) | ('raw', None) for a launch
    parameter value expression (a variable is looked up in ``assigned``)."""
    if isinstance(value, ast.Name) and value.id in assigned:
        value = assigned[value.id]
    if isinstance(value, ast.Constant):
        return "const", value.value
    if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) in ("ParameterValue",
                                                                                                      "_text"):
        if getattr(value.func, "id", "") == "_text":
            return "typed", "str"
        vt = _kw(value, "value_type")
        return "typed", ast.unparse(vt) if vt is not None else None
    return "raw", None


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_parameters_match_node_declarations(path: Path) -> None:
    """Every parameter a launch file gives an agilenn node is declared by that node, with the
    declared type (launch YAML-types plain substitutions: rate:=10 would be an INTEGER)."""
    declared = _node_parameters()
    scripts = {p.name for p in (ROOT / "scripts").iterdir()}
    cmake = (ROOT / "CMakeLists.txt").read_text()
    checked = 0
    tree = ast.parse(path.read_text())
    assigned = {n.targets[0].id: n.value for n in ast.walk(tree)
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)}
    for package, executable, call in _launch_nodes(tree):
        if package != "agilenn_ros":
            continue
        assert executable in scripts and f"scripts/{executable}" in cmake, f"{executable} is not installed"
        params = _kw(call, "parameters")
        for entry in (params.elts if isinstance(params, ast.List) else []):
            if not isinstance(entry, ast.Dict):
                continue
            for key_node, value in zip(entry.keys, entry.values):
                key = _const(key_node)
                assert key in declared[executable], f"{path.name}: {executable} declares no parameter {key!r}"
                default = declared[executable][key]
                kind, got = _typed_value(value, assigned)
                want = type(default).__name__
                if kind == "const":
                    assert type(got) is type(default), f"{path.name}: {key}={got!r} but {executable} declares {want}"
                else:
                    assert kind == "typed" and got == want, \
                        f"{path.name}: {key} needs ParameterValue(..., value_type={want}), has {ast.unparse(value)}"
                checked += 1
    assert checked > 0, f"{path.name}: no agilenn node parameters found to check"


def test_edge_launch_baud_rate_matches_firmware() -> None:
    config = (ROOT / "firmware_microros" / "app" / "agn_app_config.h").read_text()
    firmware = re.search(r"#define AGN_SERIAL_BAUD (\d+)", config).group(1)
    tree = ast.parse((ROOT / "launch" / "edge.launch.py").read_text())
    baud = next(_const(_kw(c, "default_value")) for c in _calls(tree, "DeclareLaunchArgument")
                if _const(c.args[0]) == "baudrate")
    assert baud == firmware


def test_launch_files_check_optional_packages_before_starting() -> None:
    """camera.launch.py and edge.launch.py start third-party packages (usb_cam, v4l2_camera,
    micro_ros_agent) only when asked; a missing one must stop the launch before any process
    starts (on Jazzy the edge was otherwise left running with parent PID 1)."""
    for name, packages in (("camera.launch.py", {"usb_cam", "v4l2_camera"}), ("edge.launch.py", {"micro_ros_agent"})):
        tree = ast.parse((ROOT / "launch" / name).read_text())
        generate = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "generate_launch_description")
        ret = next(n for n in ast.walk(generate) if isinstance(n, ast.Return))
        items = ret.value.args[0].elts  # LaunchDescription([...])
        checks = [i for i, e in enumerate(items) if isinstance(e, ast.Call) and getattr(e.func, "id", "") == "OpaqueFunction"]
        assert checks, f"{name}: no OpaqueFunction check"
        check_fn = ast.unparse(_kw(items[checks[0]], "function"))
        fn = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == check_fn)
        assert any(True for _ in _calls(fn, "get_package_prefix")), f"{name}: {check_fn} does not look packages up"
        starters = [i for i, e in enumerate(items) if not isinstance(e, ast.Starred)
                    and not (isinstance(e, ast.Call) and getattr(e.func, "id", "") == "OpaqueFunction")]
        assert all(i > checks[0] for i in starters), f"{name}: processes are listed before the package check"
        launched = {pkg for pkg, _, _ in _launch_nodes(tree)}
        assert packages <= launched


def test_demo_launch_lets_the_consumer_see_the_first_prediction() -> None:
    """demo.launch.py: the consumer starts first, the edge waits for it on prediction before it
    subscribes to features, and the device waits longer for the edge than the edge waits."""
    tree = ast.parse((ROOT / "launch" / "demo.launch.py").read_text())
    nodes = [(exe, call) for _, exe, call in _launch_nodes(tree)]
    assert [exe for exe, _ in nodes] == ["agilenn_consumer", "agilenn_edge", "agilenn_device"]

    def param(call: ast.Call, key: str) -> Any:
        entry = _kw(call, "parameters").elts[0]
        return next(_const(v) for k, v in zip(entry.keys, entry.values) if _const(k) == key)

    edge_wait, device_wait = param(nodes[1][1], "wait_for_consumer_s"), param(nodes[2][1], "wait_for_edge_s")
    assert 0 < edge_wait < device_wait
