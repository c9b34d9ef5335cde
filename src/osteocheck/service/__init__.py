"""`osteocheck serve`: the plan as CDS Hooks 2.0 cards for clinic software (the optional extra osteocheck[serve]).

May import api, client, render, engine and the foundation; of libraries starlette, uvicorn, PyJWT."""
