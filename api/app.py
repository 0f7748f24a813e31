"""The API role: a FastAPI application over the pool and the Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from activities.registration import repair_at_start_up
from api.errors import install_error_handlers
from api.metrics import install_metrics
from api.routes import (
    applications,
    certificates,
    codec,
    competitions,
    console,
    credentials,
    health,
    incentives,
    national_squad,
    operations,
    records,
    sessions,
)
from api.routes import evaluation_bodies as bodies
from api.routes.health import api_readiness
from api.services import ApiServices
from skillflow.operations.roles import role_heartbeat
from skillflow.role import role_resources
from skillflow.settings import Settings

ROUTERS = [health.router, operations.router, operations.page_router, codec.router]
ROUTERS += [console.router]
ROUTERS += [bodies.router, sessions.router, applications.router, certificates.router]
ROUTERS += [records.router, incentives.router, credentials.router]
ROUTERS += [competitions.router, national_squad.router]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with role_resources(settings, kafka_topics=False) as resources:
            pool, client = resources.pool, resources.temporal
            app.state.services = ApiServices.create(settings, pool, client)
            # An API that stopped mid-registration left saved registrations unstarted;
            # starting them must not delay serving.
            repair = asyncio.create_task(repair_at_start_up(client, settings.task_queue, pool))
            app.state.start_up_repair = repair

            async def readiness() -> dict[str, bool]:
                return await api_readiness(pool, client)

            try:
                async with role_heartbeat(pool, "api", readiness, settings.api_port):
                    yield
            finally:
                repair.cancel()
                await asyncio.gather(repair, return_exceptions=True)

    app = FastAPI(
        title="SkillFlow",
        version="0.1.0",
        description=(
            "Vocational skill evaluation, certification and competitions. "
            "Authenticate with `Authorization: Bearer <token>`; each token maps to one role."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # The Temporal Web UI calls /codec from its own origin, with the operator's token.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.codec_cors_origins,
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )
    install_metrics(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
