"""Flask peer: the seed's stack (Flask under gunicorn behind NGINX) serving predictd's /predict.

Owns only the HTTP edge; the request path is digit_service.py (MNIST digits) or
photo_service.py (the photo model, PEER_WORKLOAD=photo), the engine cv2.dnn. The model is loaded
once per gunicorn worker, at import (gunicorn runs without --preload, so each worker imports
this). Run: PEER_MODEL=... gunicorn --chdir bench/peers -w 2 -k gevent flask_app:app
"""

import json
import os

from flask import Flask, Response, request

import digit_service
import photo_service

service = photo_service if os.environ.get("PEER_WORKLOAD") == "photo" else digit_service
model = service.load_model("opencv")
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
