"""Flask + PyTorch peer: the model run eagerly in PyTorch, the way most Python services run
theirs. Same HTTP edge as flask_app.py; the engine is backends.TorchModel, the request path
digit_service.py or photo_service.py (PEER_WORKLOAD=photo).
Run: PEER_MODEL=... gunicorn --chdir bench/peers -w 2 -k gevent torch_app:app
"""

import json
import os

from flask import Flask, Response, request

import digit_service
import photo_service

service = photo_service if os.environ.get("PEER_WORKLOAD") == "photo" else digit_service
model = service.load_model("torch")
app = Flask(__name__)


@app.post("/predict")
def predict():
    try:
        doc = service.predict(model, request.get_data())
    except digit_service.BadRequest as e:
        return Response(json.dumps({"error": str(e)}), 400, mimetype="application/json")
    return Response(json.dumps(doc), 200, mimetype="application/json")


@app.get("/ready")
def ready():
    return Response('{"ready": true}', 200, mimetype="application/json")
