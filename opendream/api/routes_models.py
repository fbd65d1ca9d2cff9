"""The offered models and their published schemas. Like every protocol call they take a token
(RunComfy's clients always send one)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.errors import UNKNOWN_MODEL, ApiError, ErrorBody
from opendream.api.responses import ModelList, ModelSchema, ModelSummary
from opendream.catalog import MODELS, UnknownModel, get_model

router = APIRouter(tags=["models"], dependencies=[Depends(require_key)])


@router.get(
    "/v1/models",
    response_model=ModelList,
    responses={401: {"model": ErrorBody}},
    summary="The models this service offers",
)
async def list_models(ctx: AppContext = Depends(context)) -> ModelList:
    return ModelList(
        models=[
            ModelSummary(
                model_id=m.id,
                title=m.title,
                description=m.summary,
                mode=m.mode,
                output_key=m.output_key,
                schema_url=f"{ctx.base_url}/v1/models/{m.id}/schema",
            )
            for m in MODELS.values()
        ]
    )


@router.get(
    "/v1/models/{model_id:path}/schema",
    response_model=ModelSchema,
    responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}},
    summary="A model's published input and output schemas, verbatim",
)
async def model_schema(model_id: str) -> ModelSchema:
    try:
        spec = get_model(model_id)
    except UnknownModel:
        raise ApiError(
            400, UNKNOWN_MODEL, f"Unknown model_id {model_id!r}. Offered: {', '.join(MODELS)}."
        ) from None
    return ModelSchema(model_id=spec.id, input=spec.input_schema, output=spec.output_schema)
