"""scikit-learn's reference scores for the linear-model test (frozen as sklearn.json; never a runtime dependency).

Same preprocessing as the tfpipe configs: median imputation and standardization fitted on the training rows,
then Ridge(alpha=1.0) and LinearRegression; R² and RMSE on the test rows.
"""
import json, os
import numpy as np
import pandas as pd
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

here = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'cli', 'test', 'fixtures', 'ridge')
sets = {'cars': 'Miles_per_Gallon', 'synthetic': 'y'}
out = {'sklearn': sklearn.__version__, 'alpha': 1.0}
for name, label in sets.items():
    train = pd.read_csv(os.path.join(here, f'{name}-train.csv'))
    test = pd.read_csv(os.path.join(here, f'{name}-test.csv'))
    X, y = train.drop(columns=[label]), train[label]
    Xt, yt = test.drop(columns=[label]), test[label]
    res = {'trainRows': len(train), 'testRows': len(test)}
    for key, est in [('ridge', Ridge(alpha=1.0)), ('ols', LinearRegression())]:
        model = make_pipeline(SimpleImputer(strategy='median'), StandardScaler(), est).fit(X, y)
        p = model.predict(Xt)
        res[key] = {'r2': r2_score(yt, p), 'rmse': float(np.sqrt(mean_squared_error(yt, p)))}
    out[name] = res
with open(os.path.join(here, 'sklearn.json'), 'w') as f:
    json.dump(out, f, indent=2)
print(json.dumps(out, indent=2))
