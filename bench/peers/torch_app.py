"""Flask + PyTorch peer: the model run eagerly in its training framework, the way most Python
services run theirs. Same HTTP edge as flask_app.py; the backend is digit_service.TorchModel.
Run: gunicorn --chdir bench/peers -w 2 -k gevent torch_app:app
"""

from flask import Flask, Response, request

import digit_service
import json

model = digit_service.load_model("torch")
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
