"""The Streamlit page behind `officescore web`: upload or snap a photo, see the score.

Run through `officescore web`, which passes `-- --model X --device D` to this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import streamlit as st

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest
from edge.inference.modelcard import DEFAULT_CONF
from edge.inference.pipeline import PipelineConfig
from edge.inference.session import SessionConfig
from edge.web.photo_page import UPLOAD_TYPES, Page

LIGHTS = {"pass": "🟢", "warn": "🟡", "fail": "🔴", "not_checked": "⚪"}


@st.cache_resource
def load_page(model: str | None, device: str) -> Page:
    session = SessionConfig(
        model_path=Path(model) if model else None, request=EngineRequest(device=device)
    )
    return Page(PipelineConfig(session=session))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="auto")
    args, _ = parser.parse_known_args(sys.argv[1:])
    st.set_page_config(page_title="officescore", layout="centered")
    st.title("officescore")
    st.caption("How well is your home office set up? Your photo stays on this computer.")
    try:
        page = load_page(args.model, args.device)
    except OfficeScoreError as error:
        st.error(str(error))
        return
    conf = st.slider(
        "Detection confidence",
        0.1,
        0.9,
        DEFAULT_CONF,
        0.05,
        help=f"At {DEFAULT_CONF} the model card's own thresholds apply (lower for some classes).",
    )
    upload = st.file_uploader("Photo of your office", type=list(UPLOAD_TYPES))
    snapshot = (
        st.camera_input("…or take a snapshot", key="camera") if st.toggle("Use webcam") else None
    )
    chosen = upload or snapshot
    if chosen is None:
        st.info("Upload a photo to get its score.")
        return
    try:
        chosen_conf = None if conf == DEFAULT_CONF else conf
        page_result = page.analyze(chosen.getvalue(), chosen.name, chosen_conf)
    except OfficeScoreError as error:
        st.error(str(error))
        return
    record = page_result.result.to_record()
    for note in record["notes"]:
        st.caption(f"note: {note}")
    st.metric("Office score", f"{record['score']} / 100", help=record["coverage"])
    st.caption(record["coverage"] + (f"; {record['place'].lower()}" if record["place"] else ""))
    for read in record["scene"]:
        st.caption(f"read as a scene: {read}")
    st.image(page_result.annotated_rgb, use_container_width=True)
    st.subheader("Breakdown")
    st.table(
        [
            {
                "criterion": c["title"],
                "status": c["status"].replace("_", " "),
                "points": c["points"],
                "reason": c["reason"],
            }
            for c in record["criteria"]
        ]
    )
    st.subheader("Video-call background")
    check = record["check"]
    worst = check["worst"]
    st.write("Looks good." if worst is None else f"Worst: **{worst['id']}**: {worst['reason']}")
    st.table(
        [
            {
                "": LIGHTS[v["status"]],
                "criterion": v["title"],
                "verdict": v["status"].replace("_", " "),
                "reason": v["reason"],
            }
            for v in check["criteria"]
        ]
    )
    st.subheader("Objects")
    st.table(
        [
            {"name": o["name"], "label": o["label"], "confidence": o["confidence"]}
            for o in record["detections"]
        ]
        or [{"name": "nothing found"}]
    )
    inference_ms = record["timings_ms"].get("inference", 0.0)
    st.caption(
        f"{record['model']} on {record['engine']} {record['device']} {record['precision']}; "
        f"inference {inference_ms:.0f} ms"
    )


main()
