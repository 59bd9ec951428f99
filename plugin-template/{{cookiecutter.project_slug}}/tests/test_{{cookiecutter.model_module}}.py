"""{{ cookiecutter.model_name }} against WarpRec's model contract, plus its own behaviour.

``ModelConformance`` (from warprec-core's conformance kit) adds one test per rule of the
contract: construction, bad hyperparameters, predict shapes, sampled vs full scores,
{% if cookiecutter.model_kind == "iterative" %}the training loss, {% endif %}determinism, save/load, top-k masking and CUDA.
The ``warprec_*`` fixtures come from the kit's pytest plugin.
"""

import pytest
from warprec.errors import ConfigError
from warprec.testing import ModelConformance

from {{ cookiecutter.package_name }}.{{ cookiecutter.model_module }} import {{ cookiecutter.model_name }}


class Test{{ cookiecutter.model_name }}Conformance(ModelConformance):
    model_class = {{ cookiecutter.model_name }}
{%- if cookiecutter.model_kind == "classic" %}
    # The defaults, then a small neighbourhood: every check runs on each.
    params = [{}, {"k": 3, "shrink": 0.0}]


def test_keeps_at_most_k_neighbours_per_item(warprec_dataset):
    model = {{ cookiecutter.model_name }}({"k": 3}, warprec_dataset.info(), warprec_dataset.train)
    per_item = (model.item_similarity != 0).sum(axis=0)
    assert per_item.max() <= 3
    assert model.item_similarity.diagonal().sum() == 0


def test_scores_favour_items_of_the_users_cluster(warprec_dataset):
    # In the kit's toy data, user u mostly likes items i with i % 4 == u % 4.
    import torch

    model = {{ cookiecutter.model_name }}({}, warprec_dataset.info(), warprec_dataset.train)
    items, _ = model.recommend(torch.arange(8), k=1, exclude=warprec_dataset.train.get_sparse())
    same_cluster = (items[:, 0] % 4 == torch.arange(8) % 4).float().mean()
    assert same_cluster >= 0.75


@pytest.mark.parametrize(("params", "name"), [({"k": 0}, "k"), ({"shrink": -1.0}, "shrink")])
def test_rejects_out_of_range_values(warprec_dataset, params, name):
    # The declared domain is checked without building the model (as `config check` does)
    # and by the constructor.
    expected = rf"^{{ cookiecutter.model_name }}\.{name}: got .*; expected a number >= "
    with pytest.raises(ConfigError, match=expected):
        {{ cookiecutter.model_name }}.validate_params(params)
    with pytest.raises(ConfigError, match=rf"\.{name}: got "):
        {{ cookiecutter.model_name }}(params, warprec_dataset.info(), warprec_dataset.train)
{%- elif cookiecutter.model_kind == "features" %}
    # The defaults, then a small neighbourhood: every check runs on each (the kit's toy
    # dataset carries item features: a genre per cluster, a numeric length).
    params = [{}, {"k": 3}]


def test_declares_that_it_reads_item_features():
    assert {{ cookiecutter.model_name }}.needs_item_features


def test_scores_a_cold_item_from_its_features(warprec_dataset):
    # Item 0 held out of training (no interaction left), as item_cold_start does: its
    # features still bring it to the users of its genre (cluster 0, user u % 4 == 0).
    import torch
    from warprec.data.dataset import Interactions

    train = warprec_dataset.train
    kept = train.items != 0
    cold = Interactions(train.users[kept], train.items[kept], train.n_users, train.n_items)
    cold.item_features = train.item_features
    model = {{ cookiecutter.model_name }}({}, warprec_dataset.info(), cold)
    scores = model.predict(torch.arange(warprec_dataset.n_users))[:, 0]
    own_genre = torch.arange(warprec_dataset.n_users) % 4 == 0
    assert scores[own_genre].min() > scores[~own_genre].max()


def test_interactions_without_item_features_are_one_clear_error(warprec_dataset):
    from warprec.data.dataset import Interactions
    from warprec.errors import DataError

    train = warprec_dataset.train
    bare = Interactions(train.users, train.items, train.n_users, train.n_items)
    with pytest.raises(DataError, match="carry no item features; expected reader.side"):
        {{ cookiecutter.model_name }}({}, warprec_dataset.info(), bare)


def test_rejects_out_of_range_k(warprec_dataset):
    expected = r"^{{ cookiecutter.model_name }}\.k: got 0 \(int\); expected a number >= 1"
    with pytest.raises(ConfigError, match=expected):
        {{ cookiecutter.model_name }}.validate_params({"k": 0})
{%- elif cookiecutter.model_kind == "plain" %}
    # The defaults, then one factor per taste cluster of the kit's toy data.
    params = [{}, {"factors": 4}]


def test_declares_that_it_needs_the_training_data():
    import warnings

    from warprec.recommenders.base_recommender import needs_interactions

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # declared, not guessed from the signature
        assert needs_interactions({{ cookiecutter.model_name }})


def test_state_lives_in_buffers(warprec_dataset):
    model = {{ cookiecutter.model_name }}({"factors": 4}, warprec_dataset.info(),
                                          warprec_dataset.train)
    buffers = dict(model.named_buffers())
    assert buffers["user_factors"].shape == (warprec_dataset.n_users, 4)
    assert buffers["item_factors"].shape == (warprec_dataset.n_items, 4)
    assert set(model.state_dict()) == {"user_factors", "item_factors"}


def test_more_factors_reconstruct_the_training_matrix_better(warprec_dataset):
    import torch

    X = torch.from_numpy(warprec_dataset.train.get_sparse().toarray()).float()
    users = torch.arange(warprec_dataset.n_users)
    errors = [
        (X - {{ cookiecutter.model_name }}({"factors": k}, warprec_dataset.info(),
                                           warprec_dataset.train).predict(users)).norm().item()
        for k in (2, 8, 24)
    ]
    assert errors[0] > errors[1] > errors[2]


def test_scores_favour_items_of_the_users_cluster(warprec_dataset):
    # In the kit's toy data, user u mostly likes items i with i % 4 == u % 4.
    import torch

    model = {{ cookiecutter.model_name }}({"factors": 4}, warprec_dataset.info(),
                                          warprec_dataset.train)
    items, _ = model.recommend(torch.arange(8), k=1, exclude=warprec_dataset.train.get_sparse())
    same_cluster = (items[:, 0] % 4 == torch.arange(8) % 4).float().mean()
    assert same_cluster >= 0.75


def test_rejects_out_of_range_factors(warprec_dataset):
    expected = r"\.factors: got 0 \(int\); expected a number >= 1"
    with pytest.raises(ConfigError, match=expected):
        {{ cookiecutter.model_name }}({"factors": 0}, warprec_dataset.info(),
                                      warprec_dataset.train)
{%- else %}
    # The defaults, then a smaller model: every check runs on each.
    params = [{}, {"embedding_size": 8, "batch_size": 64, "epochs": 2}]


def test_padding_item_embedding_stays_zero(warprec_info):
    model = {{ cookiecutter.model_name }}({}, warprec_info)
    assert model.item_embedding.weight[model.n_items].abs().sum() == 0


def test_rejects_out_of_range_embedding_size(warprec_info):
    expected = r"\.embedding_size: got 0 \(int\); expected a number >= 1"
    with pytest.raises(ConfigError, match=expected):
        {{ cookiecutter.model_name }}({"embedding_size": 0}, warprec_info)
{%- endif %}
