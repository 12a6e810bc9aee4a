# Touchpoint as a container: `touchpoint serve` on $PORT (3000), playbooks baked in at /app/playbooks
# (mount your own over it, or set TOUCHPOINT_PLAYBOOKS_GIT). See docs/deploy.md.
FROM python:3.11-slim

# git: only for TOUCHPOINT_PLAYBOOKS_GIT (following a playbook repository).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY bot ./bot
COPY adapters ./adapters
COPY touchpoint ./touchpoint
# Shipped inside the package too (touchpoint console and teams-package use them from there).
COPY playbooks ./playbooks
COPY slack ./slack
COPY teams ./teams
# The versions CI tested: constraints.txt pins every package (scripts/refresh-constraints.sh).
RUN pip install --no-cache-dir -c constraints.txt .

RUN useradd --create-home --uid 10001 touchpoint
USER touchpoint
ENV PORT=3000 TOUCHPOINT_PLAYBOOKS=/app/playbooks PYTHONUNBUFFERED=1
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=2)"
# exec form: SIGTERM from `docker stop` reaches touchpoint, which finishes what it took and exits 0
CMD ["touchpoint", "serve", "--host", "0.0.0.0"]
