"""PlatformIO pre-script: stop early, with the fix, when the generated headers are missing.

The firmware needs build/gen/agilenn_model.h (the bundle's integer model) and
build/gen/agilenn_test_images.h; `make gen BUNDLE=<bundle>` writes both.
"""
import os

Import("env")  # noqa: F821  (PlatformIO's SCons environment)

_gen = os.path.join(env.subst("$PROJECT_DIR"), "build", "gen")  # noqa: F821
_missing = [name for name in ("agilenn_model.h", "agilenn_test_images.h")
            if not os.path.isfile(os.path.join(_gen, name))]
if _missing:
    raise SystemExit(
        "firmware_microros: missing build/gen/%s - run `make gen BUNDLE=../models/cifar10` "
        "(or your bundle) in firmware_microros/ first" % ", build/gen/".join(_missing))
