@merchant @mpp
Feature: Merchant evaluation and challenge decoding
  The agent reads a merchant's 402 challenges with "mpp decode" and learns
  what it would pay; the merchants also publish pages an agent reads.

  @MER-01 @card
  Scenario: A card checkout page asks for a card
    When the agent's browser fetches "{merchant:card-shop/checkout}"
    Then the page answered 200
    And the page contains 'autocomplete="cc-number"'

  @MER-02
  Scenario: The stripe challenge among others is decoded
    When the agent decodes the challenge of "{merchant:api/report}"
    Then it succeeds
    And the output field "method" is "stripe"
    And the output field "network_id" is "profile_mock_merchant"
    And the output field "request_json.amount" is "2500"
    And the output field "request_json.currency" is "usd"
    And no request reached Link

  @MER-03 @errors
  Scenario: Challenges without a stripe one are not supported and nothing is created
    Given a logged-in user with a default card
    When the agent decodes the challenge of "{merchant:no-stripe/report}"
    Then it fails with an error
    And no request reached Link

  @MER-04 @errors
  Scenario Outline: A malformed stripe challenge is refused naming the field: <mutation>
    When the agent decodes the challenge of "{merchant:hostile/mutation/<mutation>}"
    Then it fails with an error
    And the error names "<field>"

    Examples:
      | mutation           | field    |
      | request_not_base64 | request  |
      | request_not_object | request  |
      | missing_amount     | amount   |
      | missing_currency   | currency |
      | missing_network_id | network  |
      | amount_as_number   | amount   |

  @MER-05
  Scenario: Challenges split over several header fields with other schemes are still found
    When the agent decodes the challenge of "{merchant:api-split/report}"
    Then it succeeds
    And the output field "network_id" is "profile_mock_merchant"

  @MER-05
  Scenario: Eighty header fields with the stripe challenge last
    When the agent decodes the challenge of "{merchant:hostile/many-fields}"
    Then it succeeds
    And the output field "method" is "stripe"

  @MER-06
  Scenario: Shops say whether agents may buy, and a look-alike exists
    When the agent's browser fetches "{merchant:card-shop/agents.txt}"
    Then the page contains "Allow: /"
    When the agent's browser fetches "{merchant:no-agents/agents.txt}"
    Then the page contains "Disallow: /"
    When the agent's browser fetches "{merchant:no-agents/llm.txt}"
    Then the page contains "not permitted"
    When the agent's browser fetches "{merchant:card-sh0p/checkout}"
    Then the page contains "/m/collector/collect"

  @MER-02 @MER-04 @MER-05 @property
  Scenario: Decoding agrees with the oracle on 300 generated headers (seed 20261125)
    When the agent decodes 300 generated headers from seed 20261125
    Then every answer agrees with the oracle
