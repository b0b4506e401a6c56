"""Starts the real Anki desktop app on a throwaway base folder, with the reviewer check add-on.

    python tests/desktop/run_anki.py JOB.json

JOB.json (written by tests/test_desktop.py) names the base folder, the theme, the packages to
import, where the results and screenshots go. The profile is created here, before Anki starts,
so that its first-run language dialog never opens; everything else happens inside Anki, in the
add-on (ml_anki_reviewer_check), which quits Anki when it is done.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parent / "ml_anki_reviewer_check"
PROFILE = "ml-anki"


def main(job_path: Path) -> None:
    job = json.loads(job_path.read_text(encoding="utf-8"))
    base = Path(job["base"])
    addon_dir = base / "addons21" / ADDON.name
    shutil.copytree(ADDON, addon_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (addon_dir / "job.json").write_text(json.dumps(job), encoding="utf-8")

    from aqt.profiles import ProfileManager

    profiles = ProfileManager(ProfileManager.get_created_base_folder(str(base)))
    profiles.setupMeta()
    profiles.create(PROFILE)
    # Nothing to download: no update checks for Anki or its add-ons.
    profiles.set_update_check(False)
    profiles.set_check_for_addon_updates(False)
    # Stores the global settings: with a language chosen, there is no first-run dialog.
    profiles.setLang("en_US")
    profiles.db.close()

    import aqt

    sys.argv = ["anki", "-b", str(base), "-p", PROFILE]
    aqt.run()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
