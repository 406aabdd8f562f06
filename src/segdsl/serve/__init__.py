"""``segdsl serve``: a local, read-only web page over one project and its data.

The page is static files (``static/``) that read JSON endpoints, each one call of the
library API (:mod:`segdsl.serve.views`), with charts drawn as SVG on the server
(:mod:`segdsl.serve.charts`, :mod:`segdsl.serve.diagram`). :mod:`segdsl.serve.app` is
the Starlette application; Starlette and uvicorn are the optional extra
``segdsl[serve]`` and are imported only by that module. See ``docs/serve.md``.
"""
