"""Flask peer: the seed's stack (Flask under gunicorn behind NGINX) serving predictd's /predict.

Owns only the HTTP edge; the request path is digit_service.py. The model is loaded once per
gunicorn worker, at import (gunicorn runs without --preload, so each worker imports this).
Run: gunicorn --chdir bench/peers -w 2 -k gevent flask_app:app
"""

from flask import Flask, Response, request

import digit_service
import json

model = digit_service.load_model("opencv")
app = Flask(__name__)


@app.post("/predict")
def predict():
    try:
        doc = digit_service.predict(model, request.get_data())
    except digit_service.BadRequest as e:
        return Response(json.dumps({"error": str(e)}), 400, mimetype="application/json")
    return Response(json.dumps(doc), 200, mimetype="application/json")


@app.get("/ready")
def ready():
    return Response('{"ready": true}', 200, mimetype="application/json")
