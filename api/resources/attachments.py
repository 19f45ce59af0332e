"""Attachments: photos and scanned documents on a case (multipart upload), its list, and one
file's bytes, each within the case's scope (workflow.attachments)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Request, Response, url_for
from flask.views import MethodView
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from api import db
from api.auth import current_caller
from api.blueprint import Blueprint, Parser
from api.schemas import iso
from workflow.attachments import records
from workflow.attachments.records import Upload
from workflow.errors import InvalidInput
from workflow.inputs import describe, text_errors
from workflow.store.models import Attachment


class _Parser(Parser):
    """webargs' parser with one more location: a multipart body's fields and files together,
    so that one schema documents (and loads) the whole upload."""

    __location_map__ = {  # noqa: RUF012 (webargs' own attribute)
        **Parser.__location_map__,
        "form_and_files": "load_form_and_files",
    }

    def load_form_and_files(self, req: Request, schema: ma.Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


_parser = _Parser()


class _Blueprint(Blueprint):
    ARGUMENTS_PARSER = _parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {  # noqa: RUF012 (flask-smorest's own attribute)
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "form_and_files": "multipart/form-data",
    }


blp = _Blueprint(
    "attachments",
    __name__,
    url_prefix="/api/v1",
    description="Photos and scanned documents on cases",
)
# Room for a multipart body's boundaries and form fields around the one file.
MULTIPART_SLACK = 64 * 1024


def is_upload(req: Request) -> bool:
    """A request that may carry a file (its body is multipart and may be larger than JSON's)."""
    if req.method != "POST":
        return False
    path = req.path.rstrip("/")
    api = path.startswith("/api/v1/cases/") and path.endswith("/attachments")
    console = path.startswith("/console/cases/") and (
        path.endswith("/attachments") or path == "/console/cases/new"
    )
    return api or console


def body_limit(max_file: int, req: Request) -> int:
    # The console's new-case form may carry a few files at once.
    files = 5 if req.path.rstrip("/") == "/console/cases/new" else 1
    return files * max_file + MULTIPART_SLACK


class UploadSchema(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "the photo or PDF"},
    )
    purpose = ma.fields.String(
        load_default="intake",
        validate=ma.validate.OneOf(records.PURPOSES),
        metadata={"description": "intake, material (a checklist item), before, after, task"},
    )
    task = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "the task the file belongs to (purpose task; before or after)"},
    )
    material = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "which of the item's checklist materials (purpose material)"},
    )
    public = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "shown to Open311 readers (on a case filed through Open311)"},
    )
    keep_location = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "keep the photo's EXIF GPS position (every other field is removed)"
        },
    )


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    task = ma.fields.Integer(allow_none=True, required=True)
    purpose = ma.fields.String(required=True)
    material = ma.fields.String(allow_none=True, required=True)
    name = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True, metadata={"description": "bytes, as stored"})
    sha256 = ma.fields.String(required=True, metadata={"description": "of the stored bytes"})
    public = ma.fields.Boolean(required=True)
    location_kept = ma.fields.Boolean(required=True)
    added_by = ma.fields.String(required=True)
    unit = ma.fields.String(allow_none=True, required=True)
    added_at = ma.fields.String(required=True)
    url = ma.fields.String(required=True, metadata={"description": "GET it for the file"})


def attachment_json(row: Attachment) -> dict[str, Any]:
    return {
        "id": row.id,
        "case": row.case_id,
        "task": row.task_id,
        "purpose": row.purpose,
        "material": row.material,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "public": row.public,
        "location_kept": row.location_kept,
        "added_by": row.added_by,
        "unit": row.unit,
        "added_at": iso(row.added_at),
        "url": url_for("attachments.AttachmentFile", attachment_id=row.id),
    }


def upload_of(file: FileStorage) -> Upload:
    return Upload(file.read(), file.filename or "", file.mimetype or None)


def file_response(row: Attachment, data: bytes, *, public: bool = False) -> Response:
    """The file's bytes, never run by a browser: a PDF is downloaded, an image shown as an
    image; the hash is its ETag (a file never changes)."""
    resp = Response(data, mimetype=row.content_type)
    disposition = "inline" if row.content_type.startswith("image/") else "attachment"
    from urllib.parse import quote

    resp.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(row.name)}"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["ETag"] = f'"{row.sha256}"'
    resp.headers["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    return resp


@blp.route("/cases/<int:case_id>/attachments")
class CaseAttachments(MethodView):
    @blp.response(200, AttachmentSchema(many=True))
    @blp.alt_response(404, description="No such case in the caller's scope")
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """The case's files the caller may see, oldest first"""
        actor = current_caller().actor
        rows = records.of_case(db.session(), actor, case_id)
        return [attachment_json(r) for r in rows]

    @blp.arguments(UploadSchema, location="form_and_files")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(403, description="An auditor or callback operator; not the task's unit")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The case has ended")
    @blp.alt_response(413, description="The file is over the size limit; nothing is stored")
    @blp.alt_response(
        415,
        description="The file's content is not a JPEG, PNG, WebP or PDF, or not what its "
        "content type (or name) says; nothing is stored",
    )
    def post(self, form: dict[str, Any], case_id: int) -> Any:
        """Add a photo or a scanned document to a case (multipart/form-data, field `file`)

        The type is judged by the content; a photo is re-encoded without its metadata (its
        GPS position kept only with `keep_location`). The SHA-256 of the stored bytes goes
        into the trail (attachment.added)."""
        actor = current_caller().actor
        errors = text_errors({k: v for k, v in form.items() if isinstance(v, str)})
        if errors:
            raise InvalidInput(describe(errors), errors)
        file = form["file"]
        if not isinstance(file, FileStorage):
            raise InvalidInput("file: send the file as a multipart part", {"file": ["not a file"]})
        upload = upload_of(file)
        with db.write() as s:
            # Checked before anything is stored: a refused file leaves nothing behind.
            row = records.add(
                s,
                case_id,
                actor,
                upload,
                purpose=form["purpose"],
                task_id=form.get("task"),
                material=form.get("material"),
                public=form["public"],
                keep_location=form["keep_location"],
            )
            out = attachment_json(row)
        return out, 201


@blp.route("/attachments/<int:attachment_id>")
class AttachmentFile(MethodView):
    @blp.response(
        200,
        content_type="application/octet-stream",
        description="The file (image/jpeg, image/png, image/webp or application/pdf)",
    )
    @blp.alt_response(403, description="An auditor: reads the trail's record, not the file")
    @blp.alt_response(404, description="No such file in the caller's scope")
    def get(self, attachment_id: int) -> Response:
        """One file's bytes, within its case's scope (checked against its SHA-256 first)"""
        actor = current_caller().actor
        row, data = records.read(db.session(), actor, attachment_id)
        return file_response(row, data)


# Open311 readers: a public file of a published request, without a key (GeoReport's media_url).
media = FlaskBlueprint("open311_media", __name__, url_prefix="/open311/v2")


@media.get("/media/<int:attachment_id>")
def public_file(attachment_id: int) -> Response:
    row, data = records.public(db.session(), attachment_id)
    return file_response(row, data, public=True)


def public_url(row: Attachment) -> str:
    return url_for("open311_media.public_file", attachment_id=row.id, _external=True)
